"""What boto3 resolves from the environment it runs in: prints one JSON line with the access key
id, the region, the Lambda endpoint and botocore's name for the credentials method.

usage: boto3_resolve.py [--profile NAME] [--mfa-code CODE]
A missing profile or failing source prints {"error": "..."} and exits 1."""
import argparse
import json
import sys

import boto3

ap = argparse.ArgumentParser()
ap.add_argument("--profile")
ap.add_argument("--mfa-code")
args = ap.parse_args()
try:
    session = boto3.Session(profile_name=args.profile)
    if args.mfa_code:
        resolver = session._session.get_component("credential_provider")
        resolver.get_provider("assume-role")._prompter = lambda prompt: args.mfa_code
    creds = session.get_credentials()
    if creds is None:
        raise RuntimeError("botocore found no credentials")
    frozen = creds.get_frozen_credentials() if creds else None
    region = session.region_name
    client = session.client("lambda", region_name=region or "us-east-1")
    print(json.dumps({"access_key_id": frozen.access_key if frozen else None, "region": region,
                      "endpoint": client.meta.endpoint_url, "method": creds.method if creds else None}))
except Exception as e:  # the test compares the failure too
    print(json.dumps({"error": f"{type(e).__name__}: {e}"}))
    sys.exit(1)
