"""Settings for Django's own test runner (tests/runtests.py of Django's source, brought by
scripts/fetch-django-tests.py) when it runs Django's cache tests against a server:
CACHET_DJANGO_LOCATION is the LOCATION, as JSON (a string, or a list of servers). Django's
suite finds the memcached backends it tests by their BACKEND in CACHES."""
import json
import os

LOCATION = json.loads(os.environ["CACHET_DJANGO_LOCATION"])
_first = LOCATION[0] if isinstance(LOCATION, list) else LOCATION

DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3"},
    "other": {"ENGINE": "django.db.backends.sqlite3"},
}
SECRET_KEY = "cachet-django-suite"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
# The stock backends, so that Django's own PyMemcacheCacheTests and PyLibMCCacheTests run.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "pymemcache": {"BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
                   "LOCATION": _first},
    "pylibmc": {"BACKEND": "django.core.cache.backends.memcached.PyLibMCCache",
                "LOCATION": _first.removeprefix("unix:")},
}
