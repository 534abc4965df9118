-- wrk script for tools/bench_http.py: POSTs one JSON EchoRequest (its
-- payload, base64, comes from the environment) to EchoService/Echo.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"payload":"' .. (os.getenv("MRPC_PAYLOAD_B64") or "") .. '"}'
