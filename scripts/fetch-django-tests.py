#!/usr/bin/python3
"""Brings Django's own cache tests (tests/cache and tests/runtests.py of Django's source) for the
installed python3-django, from Debian's source package of it, into .cache/django-<version>/.

Debian's binary package ships no tests; its source package (the upstream tarball) has them. The
tarball's SHA-256 is checked against the archive's Sources index. Nothing is done when they are
already there. Prints the tests directory."""
import hashlib
import io
import lzma
import os
import subprocess
import sys
import tarfile
import urllib.request

MIRROR = "http://deb.debian.org"
SUITES = [("debian", "{codename}"), ("debian-security", "{codename}-security")]
WANTED = ("tests/cache/", "tests/runtests.py", "tests/urls.py")


def installed_upstream_version():
    v = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "python3-django"],
                       check=True, capture_output=True, text=True).stdout
    return v.split(":", 1)[-1].rsplit("-", 1)[0]  # 3:3.2.25-0+deb12u7 -> 3.2.25


def codename():
    with open("/etc/os-release") as f:
        for line in f:
            if line.startswith("VERSION_CODENAME="):
                return line.split("=", 1)[1].strip().strip('"')
    raise SystemExit("fetch-django-tests: no VERSION_CODENAME in /etc/os-release")


def fetch(url):
    with urllib.request.urlopen(url, timeout=120) as r:
        return r.read()


def find_tarball(name):
    """(url, sha256) of the file `name` in the python-django source stanzas of the suites."""
    for archive, suite in SUITES:
        suite = suite.format(codename=codename())
        index = lzma.decompress(
            fetch(f"{MIRROR}/{archive}/dists/{suite}/main/source/Sources.xz")).decode()
        for stanza in index.split("\n\n"):
            if not stanza.startswith("Package: python-django\n"):
                continue
            fields = dict(line.split(": ", 1) for line in stanza.splitlines()
                          if ": " in line and not line.startswith(" "))
            sums = stanza.split("Checksums-Sha256:", 1)[1].splitlines()
            for entry in sums[1:]:
                if not entry.startswith(" "):
                    break
                digest, _, file = entry.split()
                if file == name:
                    return f"{MIRROR}/{archive}/{fields['Directory']}/{name}", digest
    raise SystemExit(f"fetch-django-tests: {name} is in no Sources index of {MIRROR}")


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".cache")
    version = installed_upstream_version()
    dest = os.path.normpath(os.path.join(root, f"django-{version}"))
    tests = os.path.join(dest, "tests")
    if os.path.exists(os.path.join(tests, "cache", "tests.py")):
        print(tests)
        return
    url, digest = find_tarball(f"python-django_{version}.orig.tar.gz")
    data = fetch(url)
    if hashlib.sha256(data).hexdigest() != digest:
        raise SystemExit(f"fetch-django-tests: {url} does not match the Sources index")
    tmp = dest + ".tmp"
    os.makedirs(tmp, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for member in tar.getmembers():
            path = member.name.split("/", 1)[-1]  # Django-3.2.25/tests/... -> tests/...
            if member.isfile() and path.startswith(WANTED):
                member.name = path
                tar.extract(member, tmp)
    os.rename(tmp, dest)
    print(tests)


if __name__ == "__main__":
    sys.exit(main())
