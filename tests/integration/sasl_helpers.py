"""SASL test helpers: a sasldb made with `saslpasswd2 -a memcached` in a temp dir, and the
memcached.conf that points Cyrus at it (SASL_CONF_PATH names the directory)."""
import hashlib
import hmac
import os
import shutil
import subprocess
import tempfile

USER, PASSWORD = "testuser", "testpass"
SASLPASSWD2 = shutil.which("saslpasswd2") or "/usr/sbin/saslpasswd2"


class SaslDb:
    def __init__(self, users=((USER, PASSWORD),)):
        self.dir = tempfile.mkdtemp(prefix="cachet-sasl-")
        self.db = os.path.join(self.dir, "sasldb")
        with open(os.path.join(self.dir, "memcached.conf"), "w") as f:
            f.write(f"mech_list: plain cram-md5\nsasldb_path: {self.db}\n")
        for user, password in users:
            self.add(user, password)

    def add(self, user, password):
        # Realm: the host name by default, as memcached's sasl_server_new expects it.
        subprocess.run([SASLPASSWD2, "-a", "memcached", "-c", "-p", "-f", self.db, user],
                       input=password.encode(), check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)

    @property
    def env(self):
        return {"SASL_CONF_PATH": self.dir}

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def plain(user=USER, password=PASSWORD):
    """The PLAIN mechanism's client message: authzid NUL authcid NUL password."""
    return b"\0" + user.encode() + b"\0" + password.encode()


def cram_md5_answer(challenge, user=USER, password=PASSWORD):
    digest = hmac.new(password.encode(), challenge, hashlib.md5).hexdigest()
    return user.encode() + b" " + digest.encode()
