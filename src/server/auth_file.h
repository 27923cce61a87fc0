#pragma once
// -Y: the ascii protocol's authentication tokens, "user:password" lines in a file.
//
// A line is a user name, a colon, and a password that runs to the end of the line (it may hold
// colons; a CR before the newline is not part of it). A line without a colon, a blank one
// included, makes the whole file malformed; an empty file is valid (nobody can log in). Unlike
// memcached, any number of lines is read and the last line's password is whole without a
// trailing newline.
//
// Threading: Check runs on the workers, Load at start-up and on SIGHUP; a load replaces the
// credentials at once under a mutex, and a failed one leaves the old ones in use.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/mutex.h"

namespace cachet::server {

class AuthFile {
 public:
  enum class LoadResult { kOk, kOpenFailed, kMalformed };

  // Reads `path`. On kOpenFailed `*error` is the errno.
  LoadResult Load(const std::string& path, int* error);
  // Whether `user` and `password` name an entry (compared in constant time per entry).
  bool Check(std::string_view user, std::string_view password) const;

  // Parses the file's bytes; false if a line is malformed.
  struct Entry {
    std::string user;
    std::string password;
  };
  static bool Parse(std::string_view text, std::vector<Entry>* out);

 private:
  mutable common::Mutex mu_;
  std::shared_ptr<const std::vector<Entry>> entries_ CACHET_GUARDED_BY(mu_);
};

}  // namespace cachet::server
