"""Running the C++ load generator (bench/loadgen) and reading its JSON."""
import json
import subprocess


class LoadgenError(RuntimeError):
    pass


def run(loadgen, port, args, allow_errors=False, timeout=600):
    """Runs loadgen against 127.0.0.1:port; returns its JSON as a dict. A dropped connection (or
    error replies, unless allow_errors) raises LoadgenError with the JSON attached."""
    cmd = [loadgen, "-p", str(port)] + [str(a) for a in args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    try:
        result = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise LoadgenError(f"loadgen failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr}")
    result["argv"] = cmd[1:]
    if result.get("fatal") or (result.get("errors") and not allow_errors):
        err = LoadgenError(f"loadgen: {result.get('fatal') or str(result['errors']) + ' errors'}"
                           f" ({' '.join(cmd)})")
        err.result = result
        raise err
    return result
