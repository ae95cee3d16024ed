-- wrk script: each connection walks its own share of (path, token, body) lines, so every
-- request is a different case's transition. Args: JOBS_FILE
local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end

function init(args)
  local id = tonumber(wrk.thread:get("id"))
  local nthreads = tonumber(args[2])
  jobs = {}
  local n = 0
  for line in io.lines(args[1]) do
    n = n + 1
    if (n - 1) % nthreads == id then
      jobs[#jobs + 1] = line
    end
  end
  i = 0
end

function request()
  i = i + 1
  local line = jobs[((i - 1) % #jobs) + 1]
  local path, token, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
  local headers = {}
  headers["Authorization"] = "Bearer " .. token
  headers["Content-Type"] = "application/json"
  return wrk.format("POST", path, headers, body)
end

function done(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %.3f %.3f %.3f\n",
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read
      + summary.errors.write + summary.errors.timeout,
    summary.duration, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.mean / 1000))
end
