// The AWS SDK for JavaScript v3 peer: every request of a workload in flight at
// once (sockets unlimited), default retry settings. Prints {"ok": n, "failed": n}.
//   node js_peer.mjs deploy ENDPOINT N ZIP | invoke ENDPOINT N NAME | refresh ENDPOINT N | start ENDPOINT
import http from "node:http";
import fs from "node:fs";
import { LambdaClient, CreateFunctionCommand, InvokeCommand, GetFunctionCommand,
         waitUntilFunctionActiveV2 } from "@aws-sdk/client-lambda";
import { NodeHttpHandler } from "@smithy/node-http-handler";

const [workload, endpoint, nArg, extra] = process.argv.slice(2);
const client = new LambdaClient({
  endpoint, region: "us-east-1",
  requestHandler: new NodeHttpHandler({ httpAgent: new http.Agent({ keepAlive: true, maxSockets: Infinity }) }),
});
if (workload === "start") {
  console.log(JSON.stringify({ ok: 1, failed: 0 }));
  process.exit(0);
}
const n = Number(nArg);
const code = workload === "deploy" ? fs.readFileSync(extra) : null;
const ROLE = "arn:aws:iam::123456789012:role/bench";

async function one(i) {
  if (workload === "deploy") {
    await client.send(new CreateFunctionCommand({ FunctionName: `bench-${i}`, Runtime: "python3.12",
      Handler: "index.handler", Role: ROLE, Code: { ZipFile: code } }));
    await waitUntilFunctionActiveV2({ client, maxWaitTime: 600 }, { FunctionName: `bench-${i}` });
  } else if (workload === "invoke") {
    const r = await client.send(new InvokeCommand({ FunctionName: extra, Payload: JSON.stringify({ i }) }));
    if (r.FunctionError) throw new Error(r.FunctionError);
  } else if (workload === "refresh") {
    await client.send(new GetFunctionCommand({ FunctionName: `bench-${i}` }));
  }
}

const results = await Promise.allSettled(Array.from({ length: n }, (_, i) => one(i)));
const ok = results.filter((r) => r.status === "fulfilled").length;
console.log(JSON.stringify({ ok, failed: n - ok }));
