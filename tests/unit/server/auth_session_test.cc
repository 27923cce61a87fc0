// In process (session_fixture.h): -Y's authentication before the text session runs commands,
// and refresh_certs through the ServerContext's CertificateReloader.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "server/text_session.h"
#include "session_fixture.h"

namespace cachet::server {
namespace {

constexpr char kUnauth[] = "CLIENT_ERROR unauthenticated\r\n";

Settings WithAuthFile(const std::string& path) {
  Settings s = TestSettings();
  s.auth_file = path;
  return s;
}

std::string WriteTempFile(const std::string& text) {
  char tmpl[] = "/tmp/cachet-auth-session-XXXXXX";
  const int fd = ::mkstemp(tmpl);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fd);
  return tmpl;
}

// Each test gets its own file (made before the fixture's ServerContext reads the settings).
class AsciiAuthSessionTest : public SessionFixture<TextSession> {
 protected:
  AsciiAuthSessionTest() : SessionFixture(WithAuthFile(WriteTempFile("alice:secret\n"))) {
    int err = 0;
    EXPECT_EQ(context_.auth_file().Load(context_.settings().auth_file, &err),
              AuthFile::LoadResult::kOk);
  }
  ~AsciiAuthSessionTest() override { std::remove(context_.settings().auth_file.c_str()); }
};

TEST_F(AsciiAuthSessionTest, RefusesUntilAuthenticatedThenServes) {
  EXPECT_EQ(Run("get k\r\n"), kUnauth);
  EXPECT_EQ(Run("set k 0 0 12\r\nalice wrong!\r\n"), "CLIENT_ERROR authentication failure\r\n");
  EXPECT_EQ(Run("set k 0 0 5\r\nalice\r\n"), "CLIENT_ERROR bad authentication token format\r\n");
  EXPECT_EQ(Run("set k 0 0 12\r\nalice secretXY"), "CLIENT_ERROR bad command line termination\r\n");
  // Each pipelined line is answered; the rest of the input after the login runs as commands.
  EXPECT_EQ(
      Run("get a\r\nversion\r\nset k 0 0 12\r\nalice secret\r\nset v 0 0 1\r\nx\r\nget v\r\n"),
      std::string(kUnauth) + kUnauth + "STORED\r\nSTORED\r\nVALUE v 0 1\r\nx\r\nEND\r\n");
  const std::string stats = Run("stats\r\n");
  EXPECT_NE(stats.find("STAT auth_cmds 2\r\n"), std::string::npos);
  EXPECT_NE(stats.find("STAT auth_errors 1\r\n"), std::string::npos);
}

TEST_F(AsciiAuthSessionTest, PayloadSplitAcrossReads) {
  EXPECT_EQ(Run("set k 0 0 12\r\nalice se"), "");
  EXPECT_EQ(session_.input_wanted(), 14u);
  EXPECT_EQ(Run("cret\r\n"), "STORED\r\n");
  EXPECT_EQ(Run("get k\r\n"), "END\r\n");  // the login stored nothing
}

TEST_F(AsciiAuthSessionTest, LongLineOrPayloadCloses) {
  bool closed = false;
  Run(std::string(2049, 'x'), &closed);
  EXPECT_TRUE(closed);
}

TEST_F(AsciiAuthSessionTest, HugeAnnouncedPayloadCloses) {
  bool closed = false;
  Run("set k 0 0 100000\r\n", &closed);
  EXPECT_TRUE(closed);
}

// A CertificateReloader as net/'s TLS context would be, loading fine or failing on demand.
class TestReloader final : public CertificateReloader {
 public:
  bool Reload(std::string* error) override {
    ++calls;
    if (fail) *error = "Error loading the key: /k.pem : error:bad";
    return !fail;
  }
  bool fail = false;
  int calls = 0;
};

using RefreshCertsTest = SessionFixture<TextSession>;

TEST_F(RefreshCertsTest, WithoutTlsAnswersErrorEvenWithNoreply) {
  EXPECT_EQ(Run("refresh_certs\r\n"), "Error TLS not enabled\r\n");
  EXPECT_EQ(Run("refresh_certs noreply\r\n"), "Error TLS not enabled\r\n");
}

TEST_F(RefreshCertsTest, ReloadsThroughTheContext) {
  TestReloader certs;
  context_.set_certificates(&certs);
  EXPECT_EQ(Run("refresh_certs\r\nrefresh_certs noreply\r\nrefresh_certs x y\r\n"), "OK\r\nOK\r\n");
  EXPECT_EQ(certs.calls, 3);
  certs.fail = true;
  EXPECT_EQ(Run("refresh_certs noreply\r\n"), "Error loading the key: /k.pem : error:bad\r\n");
  context_.set_certificates(nullptr);
}

}  // namespace
}  // namespace cachet::server
