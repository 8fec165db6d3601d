-- pipeline.lua: makes wrk send N requests per write (HTTP/1.1 pipelining), TechEmpower style.
--
--   wrk -t1 -c256 -d10s -s pipeline.lua http://127.0.0.1:8080/plaintext -- 16
--
-- The one argument after "--" is the depth (default 16). Each request is the URL's path with the
-- headers given on wrk's command line (-H). wrk counts every response, so Requests/sec is in
-- requests, not batches. There is no response() callback on purpose: calling into Lua for every
-- response would make wrk, not the server, the limit.
local batch

function init(args)
  local depth = tonumber(args[1]) or 16
  local one = wrk.format(nil, nil)
  local parts = {}
  for i = 1, depth do
    parts[i] = one
  end
  batch = table.concat(parts)
end

function request()
  return batch
end
