# Runs patch cases through the seed's apply_patch.py (openai/gpt-oss gpt_oss/tools/apply_patch.py) over an
# in-memory dict. Usage: python3 seed-apply-patch-harness.py SEED_APPLY_PATCH_PY CASES_JSON OUT_JSON
import importlib.util, json, sys

spec = importlib.util.spec_from_file_location('seed_apply_patch', sys.argv[1])
ap = importlib.util.module_from_spec(spec)
sys.modules['seed_apply_patch'] = ap  # dataclasses look their module up
spec.loader.exec_module(ap)
cases = json.load(open(sys.argv[2]))
out = []
for c in cases:
    files = dict(c['files'])
    def open_fn(p):
        if p not in files: raise FileNotFoundError(2, 'No such file or directory', p)
        return files[p]
    def write_fn(p, t): files[p] = t
    def remove_fn(p): files.pop(p, None)
    try:
        r = ap.apply_patch(c['patch'], open_fn, write_fn, remove_fn)
        out.append({'ok': r, 'files': files})
    except Exception as e:
        out.append({'error': str(e)})
json.dump(out, open(sys.argv[3], 'w'))
