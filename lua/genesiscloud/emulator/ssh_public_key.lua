-- OpenSSH public keys as the emulator checks them: "TYPE BASE64 [comment]",
-- the base64 a well-formed SSH wire blob whose own type string matches TYPE
-- and whose key material has the size the type says. parse() gives what the
-- API reports about a key: its type, size in bits and SHA-256 fingerprint,
-- written as `ssh-keygen -l` writes it ("SHA256:" and unpadded base64).

local digest = require "openssl.digest"

local ssh_public_key = {}

-- Key types and their curve (ECDSA): the blob names the curve again.
local CURVES = {
  ["ecdsa-sha2-nistp256"] = { name = "nistp256", bits = 256 },
  ["ecdsa-sha2-nistp384"] = { name = "nistp384", bits = 384 },
  ["ecdsa-sha2-nistp521"] = { name = "nistp521", bits = 521 },
}
local TYPES = { "ssh-rsa", "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521" }
local KNOWN = {}
for _, t in ipairs(TYPES) do KNOWN[t] = true end
ssh_public_key.TYPES = TYPES

-- OpenSSH's own limits for RSA moduli (SSH_RSA_MINIMUM_MODULUS_SIZE and
-- its bignum maximum).
local RSA_MIN_BITS, RSA_MAX_BITS = 1024, 16384

local ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local VALUE = {}
for i = 1, #ALPHABET do VALUE[ALPHABET:byte(i)] = i - 1 end

-- Strict base64 (RFC 4648, padded, no line breaks): the bytes, or nil.
function ssh_public_key.base64_decode(s)
  if #s == 0 or #s % 4 ~= 0 or not s:match("^[%w+/]+=?=?$") then return nil end
  local out = {}
  for i = 1, #s, 4 do
    local a, b, c, d = s:byte(i, i + 3)
    local n = (VALUE[a] << 18) | (VALUE[b] << 12) | ((VALUE[c] or 0) << 6) | (VALUE[d] or 0)
    local bytes = string.char((n >> 16) & 0xFF, (n >> 8) & 0xFF, n & 0xFF)
    if d == 61 then bytes = bytes:sub(1, c == 61 and 1 or 2) end -- "=" padding
    out[#out + 1] = bytes
  end
  return table.concat(out)
end

function ssh_public_key.base64_encode(bytes)
  local out = {}
  for i = 1, #bytes, 3 do
    local a, b, c = bytes:byte(i, i + 2)
    local n = (a << 16) | ((b or 0) << 8) | (c or 0)
    local quad = {}
    for k = 1, 4 do
      local v = (n >> (6 * (4 - k))) & 63
      quad[k] = ALPHABET:sub(v + 1, v + 1)
    end
    if not b then quad[3] = "=" end
    if not c then quad[4] = "=" end
    out[#out + 1] = table.concat(quad)
  end
  return table.concat(out)
end

-- The SSH wire format's strings: a 4-byte big-endian length, then bytes.
local function reader(blob)
  local pos = 1
  local r = {}
  function r.string()
    if pos + 3 > #blob then return nil end
    local len = string.unpack(">I4", blob, pos)
    if len > #blob - pos - 3 then return nil end
    local s = blob:sub(pos + 4, pos + 3 + len)
    pos = pos + 4 + len
    return s
  end
  function r.done() return pos == #blob + 1 end
  return r
end

-- The number of bits of a positive mpint (big-endian, a leading zero byte
-- only to keep it positive), or nil.
local function mpint_bits(s)
  if not s or #s == 0 or s:byte(1) >= 0x80 then return nil end
  s = s:gsub("^%z+", "")
  if #s == 0 then return nil end
  local top, bits = s:byte(1), 0
  while top > 0 do bits, top = bits + 1, top >> 1 end
  return (#s - 1) * 8 + bits
end

local function rsa_size(r)
  local e_bits, n_bits = mpint_bits(r.string()), mpint_bits(r.string())
  if not e_bits or not n_bits then return nil, "its RSA exponent and modulus are not positive integers" end
  if n_bits < RSA_MIN_BITS or n_bits > RSA_MAX_BITS then
    return nil, ("an RSA key must have %d to %d bits, this one has %d"):format(RSA_MIN_BITS, RSA_MAX_BITS, n_bits)
  end
  return n_bits
end

local function ed25519_size(r)
  local key = r.string()
  if not key or #key ~= 32 then return nil, "an ssh-ed25519 key must hold 32 bytes" end
  return 256
end

local function ecdsa_size(r, key_type)
  local curve = CURVES[key_type]
  local name, point = r.string(), r.string()
  if name ~= curve.name then return nil, "its curve is not " .. curve.name end
  -- an uncompressed point: 0x04, then x and y of the curve's size each
  local width = (curve.bits + 7) // 8
  if not point or #point ~= 1 + 2 * width or point:byte(1) ~= 4 then
    return nil, "its " .. curve.name .. " point is not " .. (1 + 2 * width) .. " bytes starting with 04"
  end
  return curve.bits
end

-- The key's size in bits, from a blob whose type string has been read.
local function blob_size(r, key_type)
  local size, err
  if key_type == "ssh-rsa" then
    size, err = rsa_size(r)
  elseif key_type == "ssh-ed25519" then
    size, err = ed25519_size(r)
  else
    size, err = ecdsa_size(r, key_type)
  end
  if size and not r.done() then return nil, "it has bytes after the key" end
  return size, err
end

-- The fingerprint of a key blob, like `ssh-keygen -l`: SHA256:<base64, no "=">.
function ssh_public_key.fingerprint(blob)
  local sum = digest.new("sha256"):final(blob)
  return "SHA256:" .. ssh_public_key.base64_encode(sum):gsub("=+$", "")
end

-- value: one OpenSSH public key line. Returns { type, size, fingerprint,
-- value (trimmed), comment }, or nil and a message that says what is wrong.
function ssh_public_key.parse(value)
  if type(value) ~= "string" then return nil, "value must be a string" end
  local line = value:match("^%s*(.-)%s*$")
  if line:find("[\r\n]") then return nil, "value must be one public key on one line" end
  local key_type, b64, comment = line:match("^(%S+)%s+(%S+)%s*(.*)$")
  if not key_type then
    return nil, "value must be an OpenSSH public key: \"TYPE BASE64 [comment]\""
  end
  if not KNOWN[key_type] then
    return nil, "value: key type must be one of " .. table.concat(TYPES, ", ")
  end
  local blob = ssh_public_key.base64_decode(b64)
  if not blob then return nil, "value: the key is not valid base64" end
  local r = reader(blob)
  local inner = r.string()
  if inner ~= key_type then
    return nil, "value: the key's data is not an " .. key_type .. " key"
  end
  local size, err = blob_size(r, key_type)
  if not size then return nil, "value: " .. err end
  return { type = key_type, size = size, fingerprint = ssh_public_key.fingerprint(blob), value = line,
    comment = comment ~= "" and comment or nil }
end

return ssh_public_key
