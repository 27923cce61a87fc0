#include "server/auth_file.h"

#include <cerrno>
#include <cstdio>

namespace cachet::server {
namespace {

// memcached's safe_memcmp: no early exit, so the time does not tell how much matched.
bool SameBytes(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

}  // namespace

bool AuthFile::Parse(std::string_view text, std::vector<Entry>* out) {
  out->clear();
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return false;  // a blank line too, as in memcached
    std::string_view password = line.substr(colon + 1);
    // memcached ends the password at the first CR or NUL as well.
    password = password.substr(0, password.find_first_of(std::string_view("\r\0", 2)));
    out->push_back({std::string(line.substr(0, colon)), std::string(password)});
  }
  return true;
}

AuthFile::LoadResult AuthFile::Load(const std::string& path, int* error) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    *error = errno;
    return LoadResult::kOpenFailed;
  }
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) text.append(buf, n);
  std::fclose(f);
  auto entries = std::make_shared<std::vector<Entry>>();
  if (!Parse(text, entries.get())) return LoadResult::kMalformed;
  common::MutexLock lock(mu_);
  entries_ = std::move(entries);
  return LoadResult::kOk;
}

bool AuthFile::Check(std::string_view user, std::string_view password) const {
  std::shared_ptr<const std::vector<Entry>> entries;
  {
    common::MutexLock lock(mu_);
    entries = entries_;
  }
  if (entries == nullptr) return false;
  bool found = false;
  for (const Entry& e : *entries) {
    // Both compared every time: a wrong user costs what a wrong password does.
    const bool user_ok = SameBytes(user, e.user);
    const bool password_ok = SameBytes(password, e.password);
    found |= user_ok && password_ok;
  }
  return found;
}

}  // namespace cachet::server
