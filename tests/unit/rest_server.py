#!/usr/bin/env python3
"""Scripted JSON service for test_rest and test_clients (stdlib only).

Binds 127.0.0.1 on a free port and prints "PORT <n>" on stdout. It answers:
  POST /login/<tenant>/oauth2/v2.0/token   client_credentials with the secret
                                           "test-secret" -> a fixed fake JWT
  GET  /_count/<name>                      {"count": n} (no token needed)
Everything else needs "Authorization: Bearer <that JWT>" (else 401) and is
routed by its first path segment, which the C tests use as the client's
base URL, so every client call lands in a chosen scenario:
  echo      describes the request it got (method, raw path, query, headers,
            body) as an object that also has "value" and "runId"
  chain     @odata.nextLink pages [a,b] -> [] -> [c,d] -> [e]
  arm       nextLink pages (ARM style) [1] -> [2,3]
  foreign-* first page links to another origin (host, port, scheme, user)
  loop      every page links to the next one, forever
  self      a page links to itself
  cont      POST pages chained by continuationToken t1 -> t2 -> end
  contloop  POST replies always carry the same continuationToken
  many      POST: 500 runs in pages of 100 by continuationToken
  err       /err/<status>/<code>: that status with an ARM-style error body
  big       2 MiB of valid JSON
  deep      100,000 nested arrays;  deepobj: 100,000 nested objects
  garbage   200 with a body that is not JSON;  nul: JSON with a NUL byte
  empty     204 without a body
  drop      reads the request, then closes the connection without replying
  novalue   a listing page without "value"
  lro/<x>   PUT: 201 with Azure-AsyncOperation -> /lro-op/<x> and Retry-After: 1;
            /lro-op/ok answers InProgress twice, then Succeeded; /lro-op/fail
            Failed with an error; /lro-op/slow InProgress for ever; lro/foreign
            points the operation at another origin; lro/syncfail answers 200
            at once with provisioningState Failed and no operation header;
            lro/locforeign and lro/locslow answer 202 with only a Location
            (Synapse's way), to another origin or to /lro-loc, which answers
            202 InProgress for ever
  real      /real/subscriptions/{sub}/resourceGroups/{rg}/providers/
            Microsoft.DataFactory/factories/{factory}/...: the ADF routes of
            the public example payloads in fixtures/real/adf/ (test_contract),
            answered with the example's 2xx status, headers and body when the
            path parameters, api-version and (for PUT and createRun) the body
            equal the example's request; 404 ExampleMismatch otherwise
  synreal   /synreal/...: a Synapse workspace's development endpoint (the base
            stands for https://exampleWorkspace.dev.azuresynapse.net) answering
            with the public examples of fixtures/real/synapse/, matched as
            "real" is; PUT and DELETE answer as the recorded exchanges of
            sdk-recording_should_*_dataflow.json do (202, the recorded body,
            Location to /synop/<id>, Retry-After lowered from 10 to 1 so the
            test is quick); the operation answers the recorded 202
            {"status": "InProgress"} once, then 200 with the example's body
            (PUT) or empty (DELETE). PUT /synreal/pipelines/failing: the
            operation then answers 400 with OperationResult_Get's error body
Counters: every request to a scenario increments the counter of its name;
/steal (the target of the foreign links) has one too.
"""
import base64
import json
import os
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit


def b64(obj):
    raw = json.dumps(obj).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


TOKEN = ".".join([b64({"alg": "none", "typ": "JWT"}),
                  b64({"aud": "test", "exp": 4102444800}), "c2ln"])
COUNTS = {}
REAL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "real", "adf")
FACTORY = re.compile(r"^/real/subscriptions/(?P<subscriptionId>[^/]+)/resourceGroups/"
                     r"(?P<resourceGroupName>[^/]+)/providers/Microsoft\.DataFactory/"
                     r"factories/(?P<factoryName>[^/]+)(?P<rest>/.*)?$")
# (method, path after the factory, example file, body parameter compared with the request)
SYNREAL = os.path.join(os.path.dirname(REAL), "synapse")
# (method, path after /synreal, example file, body parameter compared with the request)
SYN_ROUTES = [
    ("PUT", r"/pipelines/(?P<pipelineName>[^/]+)", "Pipelines_Create.json", "pipeline"),
    ("POST", r"/pipelines/(?P<pipelineName>[^/]+)/createRun", "Pipelines_CreateRun.json", "parameters"),
    ("GET", r"/pipelineruns/(?P<runId>[^/]+)", "PipelineRuns_Get.json", None),
    ("POST", r"/queryPipelineRuns", "PipelineRuns_QueryByWorkspace.json", None),
    ("POST", r"/pipelines/(?P<pipelineName>[^/]+)/pipelineruns/(?P<runId>[^/]+)/queryActivityruns",
     "ActivityRuns_QueryByPipelineRun.json", None),
    ("POST", r"/pipelineruns/(?P<runId>[^/]+)/cancel", "PipelineRuns_Cancel.json", None),
]
SYNOPS = {}  # operation id -> (final status, final body or None)
REAL_ROUTES = [
    ("GET", r"", "Factories_Get.json", None),
    ("GET", r"/pipelines", "Pipelines_ListByFactory.json", None),
    ("GET", r"/pipelines/(?P<pipelineName>[^/]+)", "Pipelines_Get.json", None),
    ("PUT", r"/pipelines/(?P<pipelineName>[^/]+)", "Pipelines_Create.json", "pipeline"),
    ("PUT", r"/linkedservices/(?P<linkedServiceName>[^/]+)", "LinkedServices_Create.json",
     "linkedService"),
    ("PUT", r"/datasets/(?P<datasetName>[^/]+)", "Datasets_Create.json", "dataset"),
    ("POST", r"/pipelines/(?P<pipelineName>[^/]+)/createRun", "Pipelines_CreateRun.json",
     "parameters"),
    ("GET", r"/pipelineruns/(?P<runId>[^/]+)", "PipelineRuns_Get.json", None),
    ("POST", r"/queryPipelineRuns", "PipelineRuns_QueryByFactory.json", None),
    ("POST", r"/pipelineruns/(?P<runId>[^/]+)/queryActivityruns",
     "ActivityRuns_QueryByPipelineRun.json", None),
    ("POST", r"/pipelineruns/(?P<runId>[^/]+)/cancel", "PipelineRuns_Cancel.json", None),
]
# The same for Microsoft Fabric under /fabric/v1 (fixtures/real/fabric/, paths from the
# example's directory): (method, path, example file, body parameter). A group whose name
# starts with '_' is not compared (the job type of the generic examples is DefaultJob).
FABRIC_REAL = os.path.join(os.path.dirname(REAL), "fabric")
WSI = r"/workspaces/(?P<workspaceId>[^/]+)/items"
FABRIC_ROUTES = [
    ("POST", WSI, "dataPipeline/CreateDataPipeline.json", None),
    ("GET", WSI + r"/(?P<itemId>[^/]+)/jobs/instances/(?P<jobInstanceId>[^/]+)",
     "platform/GetItemJobInstance.json", None),
    ("GET", WSI + r"/(?P<itemId>[^/]+)/jobs/instances", "platform/ListItemJobInstances.json", None),
    ("POST", WSI + r"/(?P<itemId>[^/]+)/jobs/instances/(?P<jobInstanceId>[^/]+)/cancel",
     "platform/CancelItemJobInstance.json", None),
    ("POST", WSI + r"/(?P<itemId>[^/]+)/jobs/instances", "platform/RunOnDemandItemJob.json", None),
    ("POST", WSI + r"/(?P<itemId>[^/]+)/jobs/instances", "platform/RunOnDemandItemJob3.json", None),
    ("POST", WSI + r"/(?P<dataPipelineId>[^/]+)/getDefinition",
     "dataPipeline/GetDataPipelineDefinition.json", None),
    ("POST", WSI + r"/(?P<dataPipelineId>[^/]+)/updateDefinition",
     "dataPipeline/UpdateDataPipelineDefinition.json", None),
    ("DELETE", WSI + r"/(?P<dataPipelineId>[^/]+)", "dataPipeline/DeleteDataPipeline.json", None),
    ("POST", WSI + r"/(?P<itemId>[^/]+)/jobs/(?P<_jobType>[^/]+)/schedules",
     "platform/CreateItemSchedule.json", None),
    ("GET", WSI + r"/(?P<itemId>[^/]+)/jobs/(?P<_jobType>[^/]+)/schedules/(?P<scheduleId>[^/]+)",
     "platform/GetItemSchedule.json", None),
    ("PATCH", WSI + r"/(?P<itemId>[^/]+)/jobs/(?P<_jobType>[^/]+)/schedules/(?P<scheduleId>[^/]+)",
     "platform/UpdateItemSchedule.json", None),
    ("DELETE", WSI + r"/(?P<itemId>[^/]+)/jobs/(?P<_jobType>[^/]+)/schedules/(?P<scheduleId>[^/]+)",
     "platform/DeleteItemSchedule.json", None),
    ("GET", WSI + r"/(?P<_item>[^/]+)", "platform/ModifyOneLakeImmutabilityPolicyError.json", None),
    ("POST", r"/connections", "platform/connections-CreateCloudConnection.json", None),
]
LOCK = threading.Lock()
PORT = 0


def bump(name):
    with LOCK:
        COUNTS[name] = COUNTS.get(name, 0) + 1


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, obj=None, raw=None, headers=None):
        body = raw if raw is not None else (b"" if obj is None else json.dumps(obj).encode())
        self.send_response(status)
        if body or status != 204:
            self.send_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def base(self):
        return "http://127.0.0.1:%d" % PORT

    def handle_any(self):
        raw = self.read_body()
        parts = urlsplit(self.path)
        path, query = parts.path, parts.query
        q = parse_qs(query)
        segs = path.split("/")
        first = segs[1] if len(segs) > 1 else ""

        if first == "login" and path.endswith("/oauth2/v2.0/token"):
            form = parse_qs(raw.decode())
            bump("token")
            if form.get("client_secret") != ["test-secret"] or \
               form.get("grant_type") != ["client_credentials"]:
                return self.reply(401, {"error": "invalid_client",
                                        "error_description": "AADSTS7000215: Invalid client secret is provided."})
            return self.reply(200, {"token_type": "Bearer", "expires_in": 3599,
                                    "access_token": TOKEN})
        if first == "_count":
            with LOCK:
                n = COUNTS.get(segs[2] if len(segs) > 2 else "", 0)
            return self.reply(200, {"count": n})

        bump(first)
        if self.headers.get("Authorization") != "Bearer " + TOKEN:
            return self.reply(401, {"error": {"code": "InvalidAuthenticationToken",
                                              "message": "missing or wrong bearer token"}})
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = "<not json>"
        page = int(q.get("page", ["0"])[0])
        here = self.base() + path

        if first == "echo":
            seen = {"method": self.command, "path": path, "query": query, "body": body,
                    "params": {k: v[0] for k, v in q.items()},
                    "ifMatch": self.headers.get("If-Match"),
                    "contentType": self.headers.get("Content-Type"),
                    "consistency": self.headers.get("ConsistencyLevel")}
            doc = dict(seen)
            doc["value"] = [seen]
            doc["runId"] = "run-echo-1"
            return self.reply(200, doc, headers={"ETag": '"etag-from-header"'})
        if first == "chain":
            pages = [["a", "b"], [], ["c", "d"], ["e"]]
            doc = {"@odata.context": "x", "value": [{"id": i, "query": query} for i in pages[page]]}
            if page + 1 < len(pages):
                rest = "&".join(p for p in query.split("&") if p and not p.startswith("page="))
                doc["@odata.nextLink"] = here + "?page=%d" % (page + 1) + ("&" + rest if rest else "")
            return self.reply(200, doc)
        if first == "arm":
            pages = [[1], [2, 3]]
            doc = {"value": [{"n": i} for i in pages[page]]}
            if page == 0:
                doc["nextLink"] = here + "?page=1"
            return self.reply(200, doc)
        if first.startswith("foreign-"):
            target = {"foreign-host": "http://localhost:%d/steal" % PORT,
                      "foreign-port": "http://127.0.0.1:1/steal",
                      "foreign-scheme": "https://127.0.0.1:%d/steal" % PORT,
                      "foreign-user": "http://evil@127.0.0.1:%d/steal" % PORT}[first]
            return self.reply(200, {"value": [{"id": 1}], "@odata.nextLink": target})
        if first == "steal":
            return self.reply(200, {"value": [{"stolen": True}]})
        if first == "loop":
            return self.reply(200, {"value": [{"p": page}],
                                    "@odata.nextLink": here + "?page=%d" % (page + 1)})
        if first == "self":
            return self.reply(200, {"value": [{"p": page}], "@odata.nextLink": here + "?page=7"})
        if first in ("cont", "contloop", "many"):
            if not isinstance(body, dict):
                return self.reply(400, {"error": {"code": "BadRequest", "message": "no body"}})
            tok = body.get("continuationToken")
            if first == "contloop":
                return self.reply(200, {"value": [{"t": tok}], "continuationToken": "same"})
            if first == "many":
                k = int(tok) if tok else 0
                runs = [{"runId": "run-%03d" % (k * 100 + i), "pipelineName": "p",
                         "filter": body.get("filters")} for i in range(100)]
                doc = {"value": runs}
                if k < 4:
                    doc["continuationToken"] = str(k + 1)
                return self.reply(200, doc)
            order = {None: ("t1", [1, 2]), "t1": ("t2", [3]), "t2": (None, [4, 5])}
            nxt, items = order.get(tok, (None, []))
            doc = {"value": [{"n": i, "after": body.get("lastUpdatedAfter"), "tok": tok}
                             for i in items]}
            if nxt:
                doc["continuationToken"] = nxt
            return self.reply(200, doc)
        if first == "err":
            status = int(segs[2]) if len(segs) > 2 and segs[2].isdigit() else 500
            code = segs[3] if len(segs) > 3 else "InternalError"
            msg = {"SelfApprovalNotAllowed": "App approver and owner cannot be the same user.",
                   "RegistrationNotFound": "App registration not found. It is possible someone deleted this app."}
            return self.reply(status, {"error": {"code": code,
                                                 "message": msg.get(code, "scripted failure " + code)}})
        if first == "real":
            return self.real(path, q, body)
        if first == "synreal":
            return self.synreal(path, q, body)
        if first == "synop":
            with LOCK:
                n = COUNTS.get(path, 0) + 1
                COUNTS[path] = n
                final = SYNOPS.get(segs[2] if len(segs) > 2 else "")
            if final is None:
                return self.reply(404, {"error": {"code": "NotFound", "message": "no operation"}})
            if n == 1:
                return self.reply(202, {"status": "InProgress"},
                                  headers={"Location": self.base() + path + "?api-version=2020-12-01",
                                           "Retry-After": "1"})
            if final[1] is None:
                return self.reply(final[0], raw=b"")
            return self.reply(final[0], final[1])
        if first == "fabric":
            return self.fabric(path[len("/fabric/v1"):])
        if first == "big":
            blob = json.dumps({"value": ["x" * 1000] * 2100}).encode()
            return self.reply(200, raw=blob)
        if first == "deep":
            return self.reply(200, raw=b"[" * 100000 + b"]" * 100000)
        if first == "deepobj":
            return self.reply(200, raw=b'{"a":' * 100000 + b"1" + b"}" * 100000)
        if first == "garbage":
            return self.reply(200, raw=b"<html>not json</html>")
        if first == "nul":
            return self.reply(200, raw=b'{"value":["a\x00b"]}')
        if first == "empty":
            return self.reply(204)
        if first == "lro":
            what = segs[2] if len(segs) > 2 else "ok"
            if what == "syncfail":
                return self.reply(200, {"name": what, "properties": {"provisioningState": "Failed"}})
            if what in ("locforeign", "locslow"):
                op = ("http://localhost:%d/lro-loc" % PORT if what == "locforeign"
                      else self.base() + "/lro-loc")
                return self.reply(202, {"name": what}, headers={"Location": op, "Retry-After": "1"})
            op = ("http://localhost:%d/lro-op/%s" % (PORT, what) if what == "foreign"
                  else self.base() + "/lro-op/" + what)
            return self.reply(201, {"name": what, "properties": {"provisioningState": "Accepted"}},
                              headers={"Azure-AsyncOperation": op, "Retry-After": "1"})
        if first == "lro-op":
            what = segs[2] if len(segs) > 2 else "ok"
            with LOCK:
                n = COUNTS.get("lro-op", 0)
            if what == "slow":
                return self.reply(200, {"status": "InProgress"})
            if what == "fail":
                return self.reply(200, {"status": "Failed", "error": {"code": "ProvisioningFailed",
                                                                      "message": "scripted\nfailure"}})
            return self.reply(200, {"status": "Succeeded" if n >= 3 else "InProgress"})
        if first == "lro-loc":
            return self.reply(202, {"status": "InProgress"})
        if first == "novalue":
            return self.reply(200, {"items": []})
        if first == "drop":
            self.close_connection = True
            try:
                self.connection.shutdown(2)
            except OSError:
                pass
            return None
        return self.reply(404, {"error": {"code": "NotFound", "message": "no scenario " + first}})

    def real(self, path, q, body):
        m = FACTORY.match(path)
        for method, rest, name, body_param in REAL_ROUTES:
            r = re.fullmatch(rest, (m.group("rest") or "") if m else "")
            if not m or method != self.command or not r:
                continue
            with open(os.path.join(REAL, name)) as f:
                ex = json.load(f)
            want = ex["parameters"]
            got = dict(m.groupdict(), **r.groupdict())
            got.pop("rest")
            got["api-version"] = q.get("api-version", [None])[0]
            for k, v in got.items():
                v = unquote(v) if v is not None and k != "api-version" else v
                if v != want.get(k):
                    return self.reply(404, {"error": {"code": "ExampleMismatch", "message":
                                      "%s: %s is %r, the example has %r" % (name, k, v, want.get(k))}})
            if body_param and body != want.get(body_param):
                return self.reply(404, {"error": {"code": "ExampleMismatch", "message":
                                  "%s: the body is not the example's %s" % (name, body_param)}})
            status = min(k for k in ex["responses"] if k.startswith("2"))
            res = ex["responses"][status]
            headers = {k: v for k, v in res.get("headers", {}).items()
                       if k.lower() not in ("content-length", "content-type")}
            if res.get("body") is None:
                return self.reply(int(status), raw=b"", headers=headers)
            return self.reply(int(status), res["body"], headers=headers)
        return self.reply(404, {"error": {"code": "NotFound", "message": "no example for " + path}})

    def synop(self, recording, final):
        """Answer a write as the recorded 202 does, and remember its outcome."""
        with open(os.path.join(SYNREAL, recording)) as f:
            first = json.load(f)["Entries"][0]
        op = first["ResponseBody"]["operationId"]
        with LOCK:
            SYNOPS[op] = final
        return self.reply(202, first["ResponseBody"],
                          headers={"Location": "%s/synop/%s?api-version=2020-12-01" % (self.base(), op),
                                   "Retry-After": "1"})

    def synreal(self, path, q, body):
        rest = path[len("/synreal"):]
        if q.get("api-version", [None])[0] != "2020-12-01":
            return self.reply(400, {"error": {"code": "InvalidApiVersionParameter", "message": "2020-12-01"}})
        if self.command == "DELETE" and re.fullmatch(r"/pipelines/[^/]+", rest):
            return self.synop("sdk-recording_should_delete_dataflow.json", (200, None))
        if self.command == "PUT" and rest == "/pipelines/failing":
            with open(os.path.join(SYNREAL, "OperationResult_Get.json")) as f:
                err = json.load(f)["responses"]["default"]["body"]
            return self.synop("sdk-recording_should_create_dataflow.json", (400, err))
        for method, pat, name, body_param in SYN_ROUTES:
            r = re.fullmatch(pat, rest)
            if method != self.command or not r:
                continue
            with open(os.path.join(SYNREAL, name)) as f:
                ex = json.load(f)
            want = ex["parameters"]
            for k, v in r.groupdict().items():
                if unquote(v) != want.get(k):
                    return self.reply(404, {"error": {"code": "ExampleMismatch", "message":
                                      "%s: %s is %r, the example has %r" % (name, k, unquote(v), want.get(k))}})
            if body_param and body != want.get(body_param):
                return self.reply(404, {"error": {"code": "ExampleMismatch", "message":
                                  "%s: the body is not the example's %s" % (name, body_param)}})
            if method == "PUT":
                return self.synop("sdk-recording_should_create_dataflow.json",
                                  (200, ex["responses"]["200"]["body"]))
            return self.example_reply(ex)
        return self.reply(404, {"error": {"code": "NotFound", "message": "no example for " + path}})

    def example_reply(self, ex, with_headers=False):
        """Answer with the example's 2xx reply (its only reply when it has none), and with
        the headers it writes (but the length and type, ours) when with_headers."""
        ok = [k for k in ex["responses"] if k.startswith("2")]
        status = min(ok) if ok else min(ex["responses"])
        res = ex["responses"][status]
        headers = {k: str(v) for k, v in res.get("headers", {}).items()
                   if with_headers and k.lower() not in ("content-length", "content-type")}
        if res.get("body") is None:
            return self.reply(int(status), raw=b"", headers=headers)
        return self.reply(int(status), res["body"], headers=headers)

    def fabric(self, path):
        # The first route whose pattern and example parameters both match answers with the
        # example's reply, headers as written.
        for method, pattern, name, _ in FABRIC_ROUTES:
            r = re.fullmatch(pattern, path)
            if method != self.command or not r:
                continue
            with open(os.path.join(FABRIC_REAL, name)) as f:
                ex = json.load(f)
            want = ex["parameters"]
            if any(v != want.get(k) for k, v in r.groupdict().items() if not k.startswith("_")):
                continue
            return self.example_reply(ex, with_headers=True)
        return self.reply(404, {"errorCode": "ExampleMismatch", "message": "no example for " + path})

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients hanging up on "big" and "drop" are expected


def main():
    global PORT
    srv = Server(("127.0.0.1", 0), Handler)
    PORT = srv.server_address[1]
    sys.stdout.write("PORT %d\n" % PORT)
    sys.stdout.flush()
    srv.serve_forever()


if __name__ == "__main__":
    main()
