"""The deploy command the tests configure: tells a stand-in slot which release it now runs."""

import sys

import requests

address, version = sys.argv[1], sys.argv[2]
response = requests.post(f"http://{address}/_control/deploy", params={"version": version}, timeout=10)
print(response.text)
sys.exit(0 if response.ok else 1)
