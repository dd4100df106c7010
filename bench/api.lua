-- GETs a list of API paths in turn, each with the next API key in turn.
-- args: a file of keys (one a line) and a file of paths (one a line, with query strings).
local keys, paths = {}, {}
local index = 0

init = function(args)
  for line in io.lines(args[1]) do keys[#keys + 1] = line end
  for line in io.lines(args[2]) do paths[#paths + 1] = line end
  index = math.random(#paths)
end

request = function()
  index = index + 1
  local key = keys[(index % #keys) + 1]
  local path = paths[(index % #paths) + 1]
  return wrk.format("GET", path, {["Authorization"] = "Bearer " .. key})
end
