// -Y file parsing and checking (server/auth_file.h), with memcached's rules minus its defects.
#include "server/auth_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <vector>

namespace cachet::server {
namespace {

std::vector<AuthFile::Entry> Parsed(std::string_view text, bool* ok) {
  std::vector<AuthFile::Entry> out;
  *ok = AuthFile::Parse(text, &out);
  return out;
}

TEST(AuthFileTest, ParsesLinesAndPasswordsWithColons) {
  bool ok = false;
  const auto e = Parsed("alice:secret\nbob:pa:ss\r\n:empty-user\ncarol:\n", &ok);
  ASSERT_TRUE(ok);
  ASSERT_EQ(e.size(), 4u);
  EXPECT_EQ(e[0].user, "alice");
  EXPECT_EQ(e[0].password, "secret");
  EXPECT_EQ(e[1].password, "pa:ss");  // up to the CR, colons kept
  EXPECT_EQ(e[2].user, "");
  EXPECT_EQ(e[3].password, "");
}

TEST(AuthFileTest, LastLineWithoutNewlineKeepsItsLastCharacter) {
  bool ok = false;
  const auto e = Parsed("alice:secret", &ok);
  ASSERT_TRUE(ok);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].password, "secret");  // memcached reads "secre"
}

TEST(AuthFileTest, EmptyFileIsValid) {
  bool ok = false;
  EXPECT_TRUE(Parsed("", &ok).empty());
  EXPECT_TRUE(ok);
}

TEST(AuthFileTest, LineWithoutColonOrBlankIsMalformed) {
  bool ok = true;
  Parsed("alice:secret\nnocolon\n", &ok);
  EXPECT_FALSE(ok);
  Parsed("alice:secret\n\nbob:x\n", &ok);
  EXPECT_FALSE(ok);
  Parsed("\n", &ok);
  EXPECT_FALSE(ok);
}

TEST(AuthFileTest, ManyEntries) {
  std::string text;
  for (int i = 0; i < 100; ++i) text += "u" + std::to_string(i) + ":p" + std::to_string(i) + "\n";
  bool ok = false;
  EXPECT_EQ(Parsed(text, &ok).size(), 100u);  // memcached keeps 8
  EXPECT_TRUE(ok);
}

class AuthFileLoadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cachet-authfile-XXXXXX";
    const int fd = ::mkstemp(tmpl);
    ASSERT_GE(fd, 0);
    ::close(fd);
    path_ = tmpl;
  }
  void TearDown() override { std::remove(path_.c_str()); }
  void Write(const std::string& text) {
    FILE* f = std::fopen(path_.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
  }
  std::string path_;
};

TEST_F(AuthFileLoadTest, ChecksUsersAndPasswords) {
  Write("alice:secret\nbob:hunter2\n");
  AuthFile file;
  int err = 0;
  ASSERT_EQ(file.Load(path_, &err), AuthFile::LoadResult::kOk);
  EXPECT_TRUE(file.Check("alice", "secret"));
  EXPECT_TRUE(file.Check("bob", "hunter2"));
  EXPECT_FALSE(file.Check("alice", "hunter2"));
  EXPECT_FALSE(file.Check("alice", "secre"));
  EXPECT_FALSE(file.Check("alice", "secrets"));
  EXPECT_FALSE(file.Check("carol", "secret"));
}

TEST_F(AuthFileLoadTest, FailedReloadKeepsOldCredentials) {
  Write("alice:secret\n");
  AuthFile file;
  int err = 0;
  ASSERT_EQ(file.Load(path_, &err), AuthFile::LoadResult::kOk);
  Write("broken line\n");
  EXPECT_EQ(file.Load(path_, &err), AuthFile::LoadResult::kMalformed);
  EXPECT_TRUE(file.Check("alice", "secret"));
  std::remove(path_.c_str());
  EXPECT_EQ(file.Load(path_, &err), AuthFile::LoadResult::kOpenFailed);
  EXPECT_EQ(err, ENOENT);
  EXPECT_TRUE(file.Check("alice", "secret"));
  Write("bob:x\n");
  ASSERT_EQ(file.Load(path_, &err), AuthFile::LoadResult::kOk);
  EXPECT_FALSE(file.Check("alice", "secret"));
  EXPECT_TRUE(file.Check("bob", "x"));
}

TEST(AuthFileTest, NothingLoadedChecksNothing) {
  AuthFile file;
  EXPECT_FALSE(file.Check("", ""));
}

}  // namespace
}  // namespace cachet::server
