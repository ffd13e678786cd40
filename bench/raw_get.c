/* The transport limit for bench/run.lua: N GETs of one URL with libcurl over
 * one kept-alive connection, the body collected into a buffer and not
 * decoded. Prints "elapsed=<seconds> cpu=<seconds> bytes=<last body size>"
 * on stdout: wall and process CPU time around the request loop.
 * Extra header lines (e.g. the module's User-Agent and Accept-Encoding)
 * make it send the very request the module sends.
 *
 *   raw_get URL N TOKEN [HEADER...]
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct buf { char *data; size_t len, cap; };

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
  struct buf *b = userdata;
  size_t n = size * nmemb;
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n) cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) return 0;
    b->data = p;
    b->cap = cap;
  }
  memcpy(b->data + b->len, ptr, n);
  b->len += n;
  return n;
}

static double seconds(clockid_t clock)
{
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now(void) { return seconds(CLOCK_MONOTONIC); }

int main(int argc, char **argv)
{
  if (argc < 4) {
    fprintf(stderr, "usage: %s URL N TOKEN [HEADER...]\n", argv[0]);
    return 2;
  }
  long n = strtol(argv[2], NULL, 10);
  char header[512];
  snprintf(header, sizeof header, "X-Auth-Token: %s", argv[3]);

  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURL *h = curl_easy_init();
  struct curl_slist *headers = curl_slist_append(NULL, header);
  headers = curl_slist_append(headers, "Accept: application/json");
  for (int i = 4; i < argc; i++)
    headers = curl_slist_append(headers, argv[i]);
  struct buf b = { NULL, 0, 0 };
  curl_easy_setopt(h, CURLOPT_URL, argv[1]);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);

  int rc = 0;
  double t0 = now(), c0 = seconds(CLOCK_PROCESS_CPUTIME_ID);
  for (long i = 0; i < n; i++) {
    b.len = 0;
    CURLcode res = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (res != CURLE_OK || status != 200) {
      fprintf(stderr, "raw_get: request %ld: %s, status %ld\n", i,
              curl_easy_strerror(res), status);
      rc = 1;
      break;
    }
  }
  double elapsed = now() - t0, cpu = seconds(CLOCK_PROCESS_CPUTIME_ID) - c0;
  printf("elapsed=%.6f cpu=%.6f bytes=%zu\n", elapsed, cpu, b.len);

  free(b.data);
  curl_slist_free_all(headers);
  curl_easy_cleanup(h);
  curl_global_cleanup();
  return rc;
}
