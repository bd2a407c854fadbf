"""A trigger function run as a local command by userpool (docs/triggers.md): the event arrives on
stdin, the result goes to stdout. Used by test_triggers.py.

    trigger_function.py <record file> <mode> [<response file>]

Every event received is appended to the record file as one JSON line. Modes:
  respond      merge the JSON object in the response file into event["response"] and print the event
  fail         print a Lambda-style error object and exit 1 (the function raised)
  garbage      print something that is not JSON
  no-response  print a JSON object without "response"
  slow         sleep 3 seconds, then answer as `respond`
"""

import json
import sys
import time


def main() -> int:
    record, mode = sys.argv[1], sys.argv[2]
    event = json.load(sys.stdin)
    with open(record, "a", encoding="utf-8") as f:
        f.write(json.dumps(event) + "\n")
    if mode == "fail":
        print(json.dumps({"errorType": "Error", "errorMessage": "Denied by the command"}))
        return 1
    if mode == "garbage":
        print("this is not JSON")
        return 0
    if mode == "no-response":
        print(json.dumps({"version": "1"}))
        return 0
    if mode == "slow":
        time.sleep(3)
    if len(sys.argv) > 3:
        with open(sys.argv[3], encoding="utf-8") as f:
            event["response"].update(json.load(f))
    print(json.dumps(event))
    return 0


if __name__ == "__main__":
    sys.exit(main())
