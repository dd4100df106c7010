-- Posts pre-signed Standard Webhooks requests, each with its own webhook-id.
-- The headers file (made by bench/ingest.py) holds one "id<TAB>timestamp<TAB>signature"
-- line per request; each wrk thread takes every n-th line so no id is sent twice.
local lines = {}
local index = 0
local body_text = nil
local created = 0

function setup(thread)
  thread:set("thread_index", created)
  created = created + 1
end

init = function(args)
  local headers_file, body_file, threads = args[1], args[2], tonumber(args[3])
  local f = assert(io.open(body_file, "rb")); body_text = f:read("*a"); f:close()
  local n = 0
  for line in io.lines(headers_file) do
    if n % threads == thread_index then lines[#lines + 1] = line end
    n = n + 1
  end
end

request = function()
  index = index + 1
  local line = lines[index]
  if line == nil then index = 1; line = lines[1] end
  local id, ts, sig = line:match("([^\t]+)\t([^\t]+)\t([^\t]+)")
  return wrk.format("POST", nil, {
    ["content-type"] = "application/json",
    ["webhook-id"] = id, ["webhook-timestamp"] = ts, ["webhook-signature"] = sig,
  }, body_text)
end
