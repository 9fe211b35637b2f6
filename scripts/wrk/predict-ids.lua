-- wrk -t2 -c32 -d10s --latency -s scripts/wrk/predict-ids.lua http://127.0.0.1:8000/predict
-- The first transaction of the public creditcard.csv, as predict.lua sends it, but with a
-- transaction_id: a random UUID (version 4), from 16,384 made by each thread before it starts,
-- so that the load generator does no more work a request than with predict.lua. Each id is sent
-- again after its thread's 16,384 requests; in the decision log's index it still lands on a
-- random page, as a fresh one would.
local pool = 16384
local counter = 0

function setup(thread)
	counter = counter + 1
	thread:set("seed", counter)
end

local requests = {}
local sent = 0

local function uuid4()
	local h = {}
	for i = 1, 16 do
		h[i] = math.random(0, 255)
	end
	h[7] = h[7] % 16 + 0x40 -- version 4
	h[9] = h[9] % 64 + 0x80 -- RFC 9562 variant
	return string.format("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", unpack(h))
end

function init(args)
	math.randomseed(os.time() * 1000 + (seed or 0))
	local headers = { ["Content-Type"] = "application/json" }
	for k, v in pairs(wrk.headers) do -- those given with -H, such as the key
		headers[k] = v
	end
	for i = 1, pool do
		local body = '{"transaction_id": "' .. uuid4() .. '", "Time": 0.0, "V1": -1.3598071336738, "V2": -0.0727811733098497, "V3": 2.53634673796914, "V4": 1.37815522427443, "V5": -0.338320769942518, "V6": 0.462387777762292, "V7": 0.239598554061257, "V8": 0.0986979012610507, "V9": 0.363786969611213, "V10": 0.0907941719789316, "V11": -0.551599533260813, "V12": -0.617800855762348, "V13": -0.991389847235408, "V14": -0.311169353699879, "V15": 1.46817697209427, "V16": -0.470400525259478, "V17": 0.207971241929242, "V18": 0.0257905801985591, "V19": 0.403992960255733, "V20": 0.251412098239705, "V21": -0.018306777944153, "V22": 0.277837575558899, "V23": -0.110473910188767, "V24": 0.0669280749146731, "V25": 0.128539358273528, "V26": -0.189114843888824, "V27": 0.133558376740387, "V28": -0.0210530534538215, "Amount": 149.62}'
		requests[i] = wrk.format("POST", nil, headers, body)
	end
end

function request()
	sent = sent % pool + 1
	return requests[sent]
end
