"""Small fake AWS credential services for the credentials tests, in front of moto.

One HTTP server on loopback (a thread of the test process) that follows the documented
wire formats:

- Instance metadata (IMDSv2): PUT /latest/api/token with x-aws-ec2-metadata-token-ttl-seconds
  (1..21600, else 400) gives a token; GET /latest/meta-data/iam/security-credentials/ gives the
  role name and .../ROLE the credentials JSON (Code, LastUpdated, Type, AccessKeyId,
  SecretAccessKey, Token, Expiration). With imds_v2_only, a GET without a valid token is 401.
- Container credentials: GET /container/creds, Authorization must equal container_token when set;
  answers AccessKeyId, SecretAccessKey, Token, Expiration, RoleArn.
- IAM Identity Center: the portal's GET /federation/credentials?account_id=&role_name= with
  x-amz-sso_bearer_token (401 UnauthorizedException unless the token is valid) answers
  roleCredentials with expiration in epoch milliseconds; OIDC's POST /token (grantType
  refresh_token, clientId, clientSecret, refreshToken) renews an access token.
- STS: every signed request (AssumeRole, GetCallerIdentity) is forwarded to moto byte for byte,
  Host header included, so moto verifies the signature; a successful AssumeRole is remembered by
  its parameters and the signing key id, and the same call later gets the same credentials, so
  lambdaeng and boto3 can be seen resolving the same key. AssumeRoleWithWebIdentity (unsigned,
  which moto's --signed mode cannot serve) checks the token against web_tokens and mints the
  role's credentials with moto's AssumeRole.
- Lambda (paths under /2015-03-31/): forwarded to moto after checking that the access key has
  not expired by the expiry this fake gave it (403 ExpiredTokenException otherwise, counted in
  .expired_requests), with an optional delay: the refresh test's endpoint.

Every credential handed out is minted by moto's AssumeRole (so moto's Lambda accepts it) with the
Expiration this fake chooses. .calls records what was asked (kind, details, user agent)."""
import datetime
import hashlib
import http.client
import json
import os
import re
import shutil
import subprocess
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

DEFAULT_SESSION = re.compile(r"^(botocore-session|lambdaeng-session)-\d+$")
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:*"}]})
ALLOW_ALL = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_role(moto, name):
    """Creates (once) a role anyone may assume with an allow-all policy; returns its ARN."""
    iam = moto.boto3("iam")
    try:
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
        iam.put_role_policy(RoleName=name, PolicyName="all", PolicyDocument=ALLOW_ALL)
    except iam.exceptions.EntityAlreadyExistsException:
        arn = iam.get_role(RoleName=name)["Role"]["Arn"]
    return arn


class Fakes:
    def __init__(self, moto, role_arn, lifetime=3600, lambda_delay=0.0):
        self.moto = moto
        self.moto_host, self.moto_port = moto.endpoint.split("//")[1].split(":")
        self.role_arn = role_arn
        self.lifetime = lifetime
        self.lambda_delay = lambda_delay
        self.lock = threading.Lock()
        self.calls = []
        self.minted = {}          # access key id -> expiry (epoch seconds)
        self.used_keys = []       # access key ids seen on Lambda requests, in order
        self.expired_requests = 0
        self.sts_memo = {}
        self.imds_tokens = set()
        self.imds_v2_only = True
        self.imds_creds = None
        self.container_token = None
        self.container_rotate = False
        self.container_creds = None
        self.web_tokens = set()
        self.sso_access_tokens = set()
        self.sso_creds = {}
        self.oidc = {}            # refresh token -> (client id, client secret)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def record(self, kind, **details):
        with self.lock:
            self.calls.append(dict(kind=kind, **details))

    def calls_of(self, kind):
        with self.lock:
            return [c for c in self.calls if c["kind"] == kind]

    def mint(self, session_name, lifetime=None):
        """Fresh role credentials from moto, with this fake's expiry."""
        sts = self.moto.boto3("sts")
        c = sts.assume_role(RoleArn=self.role_arn, RoleSessionName=session_name)["Credentials"]
        expiry = time.time() + (lifetime or self.lifetime)
        with self.lock:
            self.minted[c["AccessKeyId"]] = expiry
        return {"AccessKeyId": c["AccessKeyId"], "SecretAccessKey": c["SecretAccessKey"],
                "Token": c["SessionToken"], "Expiration": iso(expiry), "expiry": expiry}

    def _handler(self):
        fakes = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def reply(self, status, body, headers=None):
                data = body.encode() if isinstance(body, str) else body
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def body(self):
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def do_PUT(self):
                self.body()
                if self.path == "/latest/api/token":
                    ttl = self.headers.get("x-aws-ec2-metadata-token-ttl-seconds")
                    fakes.record("imds-token", ttl=ttl, agent=self.headers.get("User-Agent"))
                    if not ttl or not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
                        return self.reply(400, "")
                    token = "imds-" + hashlib.sha1(str(time.time()).encode()).hexdigest()
                    fakes.imds_tokens.add(token)
                    return self.reply(200, token, {"x-aws-ec2-metadata-token-ttl-seconds": ttl})
                self.reply(404, "")

            def do_GET(self):
                path, _, query = self.path.partition("?")
                agent = self.headers.get("User-Agent")
                if path.startswith("/latest/meta-data/iam/security-credentials/"):
                    token = self.headers.get("x-aws-ec2-metadata-token")
                    role = path[len("/latest/meta-data/iam/security-credentials/"):]
                    fakes.record("imds-get", path=path, token=token, agent=agent)
                    if fakes.imds_v2_only and token not in fakes.imds_tokens:
                        return self.reply(401, "")
                    if role == "":
                        return self.reply(200, "instance-role")
                    if role != "instance-role":
                        return self.reply(404, "")
                    with fakes.lock:
                        creds = fakes.imds_creds
                    if creds is None or creds["expiry"] - time.time() < fakes.lifetime / 3:
                        creds = fakes.mint("imds")
                        with fakes.lock:
                            fakes.imds_creds = creds
                    doc = {"Code": "Success", "LastUpdated": iso(time.time()), "Type": "AWS-HMAC",
                           "AccessKeyId": creds["AccessKeyId"], "SecretAccessKey": creds["SecretAccessKey"],
                           "Token": creds["Token"], "Expiration": creds["Expiration"]}
                    return self.reply(200, json.dumps(doc))
                if path == "/container/creds":
                    auth = self.headers.get("Authorization")
                    fakes.record("container", authorization=auth, accept=self.headers.get("Accept"), agent=agent,
                                 at=time.time())
                    if fakes.container_token is not None and auth != fakes.container_token:
                        return self.reply(403, json.dumps({"message": "bad token"}))
                    with fakes.lock:
                        creds = fakes.container_creds
                    if creds is None or fakes.container_rotate:
                        creds = fakes.mint("container")
                        with fakes.lock:
                            fakes.container_creds = creds
                    doc = {k: creds[k] for k in ("AccessKeyId", "SecretAccessKey", "Token", "Expiration")}
                    doc["RoleArn"] = fakes.role_arn
                    fakes.record("container-issued", expiry=creds["expiry"], at=time.time())
                    return self.reply(200, json.dumps(doc))
                if path == "/federation/credentials":
                    q = urllib.parse.parse_qs(query)
                    token = self.headers.get("x-amz-sso_bearer_token")
                    account, role = q.get("account_id", [""])[0], q.get("role_name", [""])[0]
                    fakes.record("sso-portal", account=account, role=role, token=token, agent=agent)
                    if token not in fakes.sso_access_tokens:
                        return self.reply(401, json.dumps({"message": "Session token not found or invalid"}),
                                          {"x-amzn-ErrorType": "UnauthorizedException"})
                    key = (account, role, token)
                    with fakes.lock:
                        creds = fakes.sso_creds.get(key)
                    if creds is None:
                        creds = fakes.mint("sso")
                        with fakes.lock:
                            fakes.sso_creds[key] = creds
                    rc = {"accessKeyId": creds["AccessKeyId"], "secretAccessKey": creds["SecretAccessKey"],
                          "sessionToken": creds["Token"], "expiration": int(creds["expiry"] * 1000)}
                    return self.reply(200, json.dumps({"roleCredentials": rc}))
                if path.startswith("/2015-03-31/"):
                    return self.lambda_front(b"")
                self.reply(404, "")

            def do_DELETE(self):
                if self.path.startswith("/2015-03-31/"):
                    return self.lambda_front(self.body())
                self.reply(404, "")

            def do_POST(self):
                data = self.body()
                if self.path.startswith("/2015-03-31/") or self.path.startswith("/2017-03-31/") \
                        or self.path.startswith("/2016-08-19/"):
                    return self.lambda_front(data)
                if self.path == "/token":
                    doc = json.loads(data or b"{}")
                    fakes.record("oidc-token", grant=doc.get("grantType"), refresh=doc.get("refreshToken"),
                                 agent=self.headers.get("User-Agent"))
                    client = fakes.oidc.get(doc.get("refreshToken"))
                    if doc.get("grantType") != "refresh_token" or client != (doc.get("clientId"),
                                                                              doc.get("clientSecret")):
                        return self.reply(400, json.dumps({"error": "invalid_grant"}),
                                          {"x-amzn-ErrorType": "InvalidGrantException"})
                    access = "access-" + hashlib.sha1(str(time.time()).encode()).hexdigest()
                    refresh = "refresh-" + hashlib.sha1(access.encode()).hexdigest()
                    with fakes.lock:
                        fakes.sso_access_tokens.add(access)
                        fakes.oidc[refresh] = client
                        del fakes.oidc[doc["refreshToken"]]
                    return self.reply(200, json.dumps({"accessToken": access, "tokenType": "Bearer",
                                                       "expiresIn": 3600, "refreshToken": refresh}))
                form = {k: v[0] for k, v in urllib.parse.parse_qs(data.decode()).items()}
                action = form.get("Action")
                if action == "AssumeRoleWithWebIdentity":
                    return self.web_identity(form)
                if action in ("AssumeRole", "GetCallerIdentity"):
                    return self.sts_forward(form, data)
                self.reply(400, "<ErrorResponse><Error><Code>InvalidAction</Code></Error></ErrorResponse>")

            def forward(self, data):
                conn = http.client.HTTPConnection(fakes.moto_host, int(fakes.moto_port), timeout=60)
                conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for k, v in self.headers.items():
                    if k.lower() not in ("content-length", "connection"):
                        conn.putheader(k, v)
                conn.putheader("Content-Length", str(len(data)))
                conn.endheaders(data)
                r = conn.getresponse()
                body = r.read()
                headers = {k: v for k, v in r.getheaders()
                           if k.lower() not in ("content-length", "connection", "transfer-encoding", "server",
                                                "date")}
                conn.close()
                return r.status, body, headers

            def sts_forward(self, form, data):
                m = re.search(r"Credential=([^/]+)/", self.headers.get("Authorization", ""))
                signer = m.group(1) if m else None
                session = form.get("RoleSessionName", "")
                details = {k: form.get(k) for k in ("RoleArn", "ExternalId", "DurationSeconds", "SerialNumber",
                                                    "TokenCode")}
                details["RoleSessionName"] = "(default)" if DEFAULT_SESSION.match(session) else session
                status, body, headers = self.forward(data)
                fakes.record("sts", action=form["Action"], signer=signer, status=status,
                             agent=self.headers.get("User-Agent"), host=self.headers.get("Host"), **details)
                if form["Action"] == "AssumeRole" and status == 200:
                    key = json.dumps([signer, details], sort_keys=True)
                    with fakes.lock:
                        body = fakes.sts_memo.setdefault(key, body)
                self.reply(status, body, headers)

            def web_identity(self, form):
                token, session = form.get("WebIdentityToken"), form.get("RoleSessionName", "")
                fakes.record("sts", action="AssumeRoleWithWebIdentity", RoleArn=form.get("RoleArn"),
                             RoleSessionName="(default)" if DEFAULT_SESSION.match(session) else session,
                             token=token, signed="Authorization" in self.headers,
                             agent=self.headers.get("User-Agent"))
                if token not in fakes.web_tokens:
                    return self.reply(400, "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken"
                                           "</Code><Message>the token is not valid</Message></Error>"
                                           "</ErrorResponse>")
                key = json.dumps([form.get("RoleArn"), token, DEFAULT_SESSION.sub("default", session)])
                with fakes.lock:
                    creds = fakes.sts_memo.get(key)
                if creds is None:
                    creds = fakes.mint(session or "web")
                    with fakes.lock:
                        creds = fakes.sts_memo.setdefault(key, creds)
                arn = form.get("RoleArn", "").replace(":iam::", ":sts::").replace(":role/", ":assumed-role/")
                xml = ("<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                       "<AssumeRoleWithWebIdentityResult><Credentials>"
                       f"<SessionToken>{escape(creds['Token'])}</SessionToken>"
                       f"<SecretAccessKey>{escape(creds['SecretAccessKey'])}</SecretAccessKey>"
                       f"<Expiration>{creds['Expiration']}</Expiration>"
                       f"<AccessKeyId>{creds['AccessKeyId']}</AccessKeyId></Credentials>"
                       f"<AssumedRoleUser><Arn>{escape(arn)}/{escape(session)}</Arn>"
                       "<AssumedRoleId>AROAEXAMPLE:web</AssumedRoleId></AssumedRoleUser>"
                       "<SubjectFromWebIdentityToken>ci</SubjectFromWebIdentityToken>"
                       "</AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>1</RequestId>"
                       "</ResponseMetadata></AssumeRoleWithWebIdentityResponse>")
                self.reply(200, xml, {"Content-Type": "text/xml"})

            def lambda_front(self, data):
                m = re.search(r"Credential=([^/]+)/", self.headers.get("Authorization", ""))
                key = m.group(1) if m else None
                with fakes.lock:
                    expiry = fakes.minted.get(key)
                    if not fakes.used_keys or fakes.used_keys[-1] != key:
                        fakes.used_keys.append(key)
                    expired = expiry is not None and time.time() >= expiry
                    if expired:
                        fakes.expired_requests += 1
                if expired:
                    return self.reply(403, json.dumps({"message": "The security token included in the request is "
                                                                  "expired"}),
                                      {"x-amzn-ErrorType": "ExpiredTokenException"})
                if fakes.lambda_delay:
                    time.sleep(fakes.lambda_delay)
                status, body, headers = self.forward(data)
                self.reply(status, body, headers)

        return Handler


class RecordingProxy:
    """An HTTP proxy on loopback that connects nowhere: it records the CONNECT targets (https) and
    the absolute URIs (http) clients ask for and refuses them, so a test can see which AWS endpoint
    a client chose without any request leaving the machine. .seen is the list of (method, target)."""

    def __init__(self):
        self.seen = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def refuse(self):
                with proxy.lock:
                    proxy.seen.append((self.command, self.path))
                n = int(self.headers.get("Content-Length") or 0)
                if n and self.command != "CONNECT":
                    self.rfile.read(n)
                self.send_response(403)
                self.send_header("Content-Length", "0")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True

            do_CONNECT = do_GET = do_PUT = do_POST = refuse

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def env(self):
        return {"https_proxy": self.url, "HTTPS_PROXY": self.url, "http_proxy": self.url, "HTTP_PROXY": self.url,
                "no_proxy": "127.0.0.1,localhost", "NO_PROXY": "127.0.0.1,localhost"}

    def targets(self):
        with self.lock:
            return list(self.seen)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def aws_cli_signed_call(env, profile=None, function="probe"):
    """What the aws CLI resolves from env (its whole environment) and the shared files there, as
    seen on the request it signs: `aws lambda get-function --debug` logs each request's URL and
    Authorization header (Credential=KEY/DATE/REGION/lambda/aws4_request). One attempt, no retry.
    Returns (access key id, region, endpoint, exit status, stdout); raises when the aws CLI is
    missing or signed no Lambda request."""
    if not shutil.which("aws"):
        raise RuntimeError("the aws CLI is required (scripts/deps.sh installs it)")
    env = {"AWS_MAX_ATTEMPTS": "1", "AWS_RETRY_MODE": "standard", **env}
    args = ["aws", "lambda", "get-function", "--function-name", function, "--debug", "--output", "json"]
    args += ["--profile", profile] if profile else []
    r = subprocess.run(args, env={k: v for k, v in env.items() if v is not None}, capture_output=True, text=True,
                       timeout=180)
    sent = re.findall(r"Sending http request: <AWSPreparedRequest .*?url=(\S+?), headers=.*?"
                      r"Credential=([A-Z0-9]+)/\d{8}/([a-z0-9-]+)/lambda/aws4_request", r.stderr)
    if not sent:
        raise AssertionError("the aws CLI signed no Lambda request:\n" + r.stderr[-3000:])
    url, key, region = sent[-1]
    return key, region, re.match(r"^(https?://[^/]+)", url).group(1), r.returncode, r.stdout
