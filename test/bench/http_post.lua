-- test/bench/http_post.lua — wrk script: POST $BENCH_BODY_FILE to the URL with the API key
-- $BENCH_KEY as JSON; non-2xx answers are counted by wrk ("Non-2xx or 3xx responses").
local f = assert(io.open(os.getenv("BENCH_BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY")
