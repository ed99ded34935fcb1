// Reading a key's passphrase: from a file, or from the terminal with echo off.
#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <fstream>
#include <iostream>

#include "controlplane/cli/cli_internal.h"

namespace agent9::cli {
namespace {

// One line from the terminal (/dev/tty) without echo.
Result<std::string> AskTerminal(const char* prompt) {
  int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    return Status::InvalidArgument("no terminal to ask for the passphrase: use --passphrase-file");
  }
  termios old{};
  bool echo_off = ::tcgetattr(fd, &old) == 0;
  if (echo_off) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  std::string p(prompt);
  (void)!::write(fd, p.data(), p.size());
  std::string line;
  char c = 0;
  while (::read(fd, &c, 1) == 1 && c != '\n') line += c;
  if (echo_off) ::tcsetattr(fd, TCSAFLUSH, &old);
  (void)!::write(fd, "\n", 1);
  ::close(fd);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

}  // namespace

Result<std::string> ReadPassphrase(const std::string& file, bool confirm) {
  std::string pass;
  if (!file.empty()) {
    std::ifstream f(file);
    if (!f) return Status::InvalidArgument("cannot read passphrase file " + file);
    std::getline(f, pass);
    if (!pass.empty() && pass.back() == '\r') pass.pop_back();
  } else {
    AGENT9_ASSIGN_OR_RETURN(pass, AskTerminal("passphrase: "));
    if (confirm && !pass.empty()) {
      AGENT9_ASSIGN_OR_RETURN(std::string again, AskTerminal("passphrase again: "));
      if (again != pass) return Status::InvalidArgument("the two passphrases differ");
    }
  }
  if (pass.empty()) return Status::InvalidArgument("the passphrase is empty");
  return pass;
}

}  // namespace agent9::cli
