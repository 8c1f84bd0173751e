#!/usr/bin/env python3
"""Calls a resource server with the token the Seed STS agent keeps fresh in a file.

The agent (`sts agent`) replaces the file atomically (a new file renamed over the old one), so the
file is read whole before every call: a reader never sees half a token, and always the newest.

Usage: call_with_token_file.py <token file> <url>
Prints the answer's status and body; exits 0 on a 2xx answer, 1 otherwise.
"""
import sys
import urllib.error
import urllib.request


def main():
    token_file, url = sys.argv[1], sys.argv[2]
    with open(token_file, encoding="ascii") as file:
        token = file.read().strip()
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, body = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read().decode()
    print(status)
    print(body)
    sys.exit(0 if 200 <= status < 300 else 1)


if __name__ == "__main__":
    main()
