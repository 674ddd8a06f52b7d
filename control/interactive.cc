// campd -i: the control commands at a "camp> " prompt, through DPDK's cmdline library (line
// editing, history). One instruction whose only token takes the whole line hands every line to
// ControlPlane::execute, so the prompt and campctl can never disagree on the commands.
#include <cmdline.h>
#include <cmdline_parse.h>
#include <cmdline_parse_string.h>
#include <cmdline_socket.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "control/commands.h"
#include "control/control_plane.h"

namespace camp::control {
namespace {

struct PromptState {
  ControlPlane* cp = nullptr;
  bool done = false;  // quit was typed
};

struct LineResult {
  cmdline_multi_string_t line;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

void on_line(void* parsed, cmdline* cl, void* data) {
  auto* st = static_cast<PromptState*>(data);
  const std::string_view line = trim(static_cast<LineResult*>(parsed)->line);
  if (line.empty()) return;
  if (line == "quit" || line == "exit") {
    st->done = true;
    if (st->cp->info().request_quit) st->cp->info().request_quit();
    cmdline_quit(cl);
    return;
  }
  if (line == "help") {
    cmdline_printf(cl, "%s  quit               leave the prompt and stop campd\n",
                   help_text().c_str());
    return;
  }
  const Response r = st->cp->execute(line);
  if (r.ok) {
    cmdline_printf(cl, "%s%s", r.text.c_str(),
                   !r.text.empty() && r.text.back() != '\n' ? "\n" : "");
  } else {
    cmdline_printf(cl, "error: %s\n", r.text.c_str());
  }
}

// cmdline_parse_inst_t ends in a flexible array, which C++ cannot initialise statically: build
// it in raw storage instead.
struct Instruction {
  cmdline_parse_token_string_t token{};
  std::unique_ptr<unsigned char[]> raw;
  cmdline_parse_inst_t* inst = nullptr;
  cmdline_parse_ctx_t ctx[2] = {nullptr, nullptr};

  explicit Instruction(PromptState* st) {
    token.hdr.ops = &cmdline_token_string_ops;
    token.hdr.offset = offsetof(LineResult, line);
    token.string_data.str = TOKEN_STRING_MULTI;
    const size_t size = sizeof(cmdline_parse_inst_t) + 2 * sizeof(cmdline_parse_token_hdr_t*);
    raw = std::make_unique<unsigned char[]>(size);
    inst = new (raw.get()) cmdline_parse_inst_t;
    inst->f = on_line;
    inst->data = st;
    inst->help_str = "a campd command (help lists them)";
    inst->tokens[0] = &token.hdr;
    inst->tokens[1] = nullptr;
    ctx[0] = inst;
  }
};

// Feeds input to cmdline a byte at a time, so nothing typed after quit is run, and wakes every
// 100 ms to see whether campd is stopping for another reason.
void prompt_loop(cmdline* cl, int in_fd, PromptState& st, const std::atomic<bool>& quit) {
  while (!quit.load() && !st.done) {
    pollfd p{in_fd, POLLIN, 0};
    const int r = poll(&p, 1, 100);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return;
    if (r == 0) continue;
    char buf[256];
    const ssize_t n = read(in_fd, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return;  // end of input
    for (ssize_t i = 0; i < n && !st.done; ++i) {
      // The terminal is raw, so Ctrl-C arrives as a byte rather than SIGINT: treat it as quit.
      if (buf[i] == 0x03) {
        st.done = true;
        if (st.cp->info().request_quit) st.cp->info().request_quit();
        return;
      }
      if (cmdline_in(cl, &buf[i], 1) < 0) return;  // Ctrl-D on an empty line, or quit
    }
  }
}

}  // namespace

void run_interactive(ControlPlane& cp, const std::atomic<bool>& quit) {
  PromptState st{&cp};
  Instruction ins(&st);
  cmdline* cl = cmdline_stdin_new(ins.ctx, "camp> ");
  if (!cl) return;
  prompt_loop(cl, STDIN_FILENO, st, quit);
  cmdline_printf(cl, "\n");
  cmdline_stdin_exit(cl);  // restores the terminal
}

void run_interactive(ControlPlane& cp, const std::atomic<bool>& quit, int in_fd, int out_fd) {
  PromptState st{&cp};
  Instruction ins(&st);
  cmdline* cl = cmdline_new(ins.ctx, "camp> ", in_fd, out_fd);
  if (!cl) return;
  prompt_loop(cl, in_fd, st, quit);
  cmdline_free(cl);
}

}  // namespace camp::control
