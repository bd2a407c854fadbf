"""Vendor the cognito-idp service model from an installed botocore, documentation stripped.

Usage: python3 model/vendor.py   (botocore must be importable; the version is recorded)
"""
import gzip, json, os, sys
import botocore

src = os.path.join(os.path.dirname(botocore.__file__), "data", "cognito-idp", "2016-04-18", "service-2.json.gz")
model = json.loads(gzip.open(src).read())

def strip(node):
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items() if k not in ("documentation", "documentationUrl")}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node

model = strip(model)
model["metadata"]["vendoredFrom"] = f"botocore {botocore.__version__} (PyPI), {os.path.relpath(src, os.path.dirname(botocore.__file__))}"
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cognito-idp.json")
with open(out, "w") as f:
    json.dump(model, f, indent=1)
    f.write("\n")
print(f"wrote {out} from botocore {botocore.__version__}", file=sys.stderr)
