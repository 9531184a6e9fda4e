#include "session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <charconv>

#include <linux/sockios.h>
#include <sys/ioctl.h>

namespace schsim::simulator::detail {

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

auto endpoint_string(const tcp::endpoint& ep) -> std::string {
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

/// A short rendering of a reply for the timeline: the first line, or `$"payload"` for strings.
auto summarize(std::string_view frame) -> std::string {
  if (frame.empty()) {
    return {};
  }
  const std::size_t eol = std::min(frame.find("\r\n"), frame.size());
  const std::string_view line = frame.substr(0, eol);
  if ((frame[0] == '$' || frame[0] == '=' || frame[0] == '!') && line != "$-1") {
    std::size_t len = 0;
    std::from_chars(line.data() + 1, line.data() + line.size(), len);
    constexpr std::size_t shown = 64;
    const std::string_view payload =
        frame.substr(std::min(eol + 2, frame.size()), std::min(len, shown));
    std::string s;
    s.reserve(payload.size() + 6);
    s.push_back(frame[0]);
    s.push_back('"');
    s.append(payload);
    if (len > shown) {
      s.append("...");
    }
    s.push_back('"');
    return s;
  }
  return std::string(line.substr(0, 128));
}

auto close_how_of(const boost::system::error_code& ec) -> timeline::close_how {
  if (ec == asio::error::eof) {
    return timeline::close_how::fin;
  }
  if (ec == asio::error::connection_reset || ec == asio::error::broken_pipe) {
    return timeline::close_how::rst;
  }
  return timeline::close_how::error;
}

}  // namespace

void server_core::record(const std::string& endpoint, std::uint64_t conn, timeline::detail what) {
  if (stopped) {
    return;
  }
  recorder->record(timeline::event{to_ns(mono_clock::now()), endpoint, conn, std::move(what)});
}

session::session(std::shared_ptr<server_core> core, endpoint_state& ep, tcp::socket socket,
                 std::uint64_t id, session_role role)
    : core_(std::move(core)),
      ep_(&ep),
      socket_(std::move(socket)),
      wake_(socket_.get_executor()),
      pause_(socket_.get_executor()),
      role_(role),
      parser_(core_->config.limits, resp3::inline_mode::accepted) {
  state_.id = id;
  boost::system::error_code ec;
  const auto peer = socket_.remote_endpoint(ec);
  state_.peer = ec ? std::string("?") : endpoint_string(peer);
  const auto local = socket_.local_endpoint(ec);
  state_.local = ec ? std::string("?") : endpoint_string(local);
  state_.opened_at = mono_clock::now();
  // The writer tries a plain send before falling back to async_write.
  socket_.non_blocking(true, ec);
  ep_->handler.init_session(state_);
}

auto session::run() -> asio::awaitable<void> {
  using namespace asio::experimental::awaitable_operators;
  co_await (reader() && writer());
}

auto session::info() const -> connection_info {
  connection_info ci;
  ci.id = state_.id;
  ci.endpoint = ep_->config.name;
  ci.peer = state_.peer;
  ci.protocol = static_cast<int>(state_.protocol);
  ci.maint_enabled = state_.maint_enabled;
  ci.endpoint_type = state_.endpoint_type;
  ci.opened_at = state_.opened_at;
  return ci;
}

auto session::open_for_output() const -> bool {
  return !done_ && !close_ && !input_closed_ && role_ == session_role::serve;
}

// ---------------------------------------------------------------------------------------------
// Reading and executing

auto session::reader() -> asio::awaitable<void> {
  for (;;) {
    auto [ec, n] = co_await socket_.async_read_some(asio::buffer(read_buffer_), use_tuple);
    if (done_) {
      co_return;
    }
    if (ec) {
      if (draining_) {
        // Our FIN is out and recorded; the client's FIN (or reset) ends the linger.
        peer_eof_ = true;
        pause_.cancel();
        co_return;
      }
      std::string reason = ec == asio::error::eof ? "client closed the connection" : ec.message();
      finish(close_initiator::client, close_how_of(ec), reason, true);
      co_return;
    }
    if (role_ == session_role::blackhole || input_closed_) {
      continue;  // swallowed: blackhole mode, or after QUIT / a protocol error / a close
    }
    input_total_ += n;
    parser_.feed(std::string_view(read_buffer_.data(), n));
    process_input();
    if (done_) {
      co_return;
    }
    check_output_limit();
    wake_.cancel();
  }
}

void session::process_input() {
  const time_point now = mono_clock::now();
  while (!input_closed_ && !done_) {
    std::optional<resp3::value> request = parser_.next();
    if (!request) {
      if (parser_.failed()) {
        protocol_error("ERR " + parser_.error_message(), parser_.error_offset(), now);
      }
      return;
    }
    const request_check check = request_args(*request, args_);
    switch (check.kind) {
      case request_kind::ignore:
        break;
      case request_kind::protocol_error:
        protocol_error(check.error, input_total_ - parser_.buffered(), now);
        return;
      case request_kind::command:
        execute(args_, now);
        break;
    }
  }
}

void session::execute(std::span<const std::string_view> args, time_point now) {
  const std::uint64_t index = commands_++;
  ++core_->stats.total_commands;
  const bool recording = core_->config.record_commands;
  if (recording) {
    timeline::command_received ev;
    ev.index = index;
    ev.args.reserve(args.size());
    for (const auto a : args) {
      ev.args.emplace_back(a.substr(0, 128));
    }
    core_->record(ep_->config.name, state_.id, std::move(ev));
  }

  frame_mark mark;
  mark.kind = frame_kind::reply;
  mark.index = index;
  command_outcome outcome;
  const bool direct = held_.empty() && ep_->reply_latency.count() == 0 && !ep_->stalled;
  if (direct) {
    // Fast path: the reply goes straight into the ready buffer, no copy.
    const std::size_t before = out_.size();
    outcome = ep_->handler.execute(state_, args, now, out_);
    const std::size_t len = out_.size() - before;
    mark.start = queued_;
    mark.end = queued_ + len;
    mark.error = outcome.error;
    if (recording) {
      mark.summary = summarize(std::string_view(out_).substr(before));
    }
    queued_ += len;
    marks_.push_back(std::move(mark));
    if (outcome.then == after_reply::close) {
      input_closed_ = true;
      close_ = close_request{close_initiator::client, close_how::fin, "QUIT", queued_};
    }
  } else {
    std::string bytes;
    outcome = ep_->handler.execute(state_, args, now, bytes);
    mark.error = outcome.error;
    if (recording) {
      mark.summary = summarize(bytes);
    }
    std::optional<close_request> close_after;
    if (outcome.then == after_reply::close) {
      input_closed_ = true;
      close_after = close_request{close_initiator::client, close_how::fin, "QUIT", 0};
    }
    enqueue(std::move(bytes), std::move(mark), std::move(close_after), now + ep_->reply_latency,
            true);
  }
  // Recorded after the reply is queued, so an observer that reacts with send_push() (e.g. the
  // scenario engine replaying an active notification) lands behind the +OK.
  if (outcome.hello) {
    core_->record(ep_->config.name, state_.id, std::move(*outcome.hello));
  }
  if (outcome.maint) {
    core_->record(ep_->config.name, state_.id, std::move(*outcome.maint));
  }
}

void session::protocol_error(const std::string& reply_text, std::uint64_t offset, time_point now) {
  input_closed_ = true;
  const std::string message = reply_text.starts_with("ERR ") ? reply_text.substr(4) : reply_text;
  core_->record(ep_->config.name, state_.id, timeline::protocol_error{message, offset});
  std::string bytes = "-" + reply_text + "\r\n";
  frame_mark mark;
  mark.kind = frame_kind::error;
  mark.error = true;
  enqueue(std::move(bytes), std::move(mark),
          close_request{close_initiator::server, close_how::fin, "protocol error", 0},
          now + ep_->reply_latency, true);
}

// ---------------------------------------------------------------------------------------------
// Output bookkeeping

void session::enqueue(std::string bytes, frame_mark mark, std::optional<close_request> close_after,
                      time_point due, bool keep_reply_order) {
  // A push in reply order waits only behind held replies; a reply also waits for its own due
  // time and for a stall.
  const bool hold = keep_reply_order &&
                    (!held_.empty() ||
                     (mark.kind != frame_kind::push && (ep_->stalled || due > mono_clock::now())));
  if (!hold) {
    append_ready(bytes, std::move(mark));
    if (close_after) {
      close_after->at = queued_;
      close_ = std::move(close_after);
    }
    return;
  }
  held_bytes_ += bytes.size();
  held_.push_back(held_frame{std::move(bytes), due, std::move(mark), std::move(close_after)});
}

void session::append_ready(std::string_view bytes, frame_mark mark) {
  mark.start = queued_;
  mark.end = queued_ + bytes.size();
  out_.append(bytes);
  queued_ = mark.end;
  marks_.push_back(std::move(mark));
}

void session::promote(time_point now, bool force_one) {
  while (!held_.empty() && !close_) {
    held_frame& h = held_.front();
    if (!force_one && (ep_->stalled || h.due > now)) {
      return;
    }
    held_bytes_ -= h.bytes.size();
    append_ready(h.bytes, std::move(h.mark));
    if (h.close_after) {
      h.close_after->at = queued_;
      close_ = std::move(h.close_after);
    }
    held_.pop_front();
    if (force_one) {
      return;
    }
  }
}

auto session::output_backlog() const -> std::size_t {
  return static_cast<std::size_t>(queued_ - written_) + held_bytes_;
}

void session::check_output_limit() {
  if (!done_ && output_backlog() > core_->config.max_output_buffer) {
    finish(close_initiator::server, close_how::rst, "output buffer limit", true);
  }
}

void session::record_written() {
  const bool recording = core_->config.record_commands;
  while (!marks_.empty() && marks_.front().end <= written_) {
    frame_mark& m = marks_.front();
    switch (m.kind) {
      case frame_kind::reply:
        if (recording) {
          core_->record(ep_->config.name, state_.id,
                        timeline::reply_written{m.index, m.error, std::move(m.summary)});
        }
        break;
      case frame_kind::push: {
        timeline::push_written ev;
        ev.name = m.meta->name;
        ev.seq = m.meta->seq;
        ev.time_s = m.meta->time_s;
        ev.bytes = static_cast<std::size_t>(m.end - m.start);
        ev.dialect = m.meta->dialect;
        ev.step = m.meta->step;
        core_->record(ep_->config.name, state_.id, std::move(ev));
        break;
      }
      case frame_kind::raw:
        core_->record(ep_->config.name, state_.id,
                      timeline::note{"raw bytes written: " + std::to_string(m.end - m.start) +
                                     (m.meta->step.empty() ? "" : " (step " + m.meta->step + ")")});
        break;
      case frame_kind::error:
        break;  // the protocol_error event already tells
    }
    marks_.pop_front();
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

auto session::writer() -> asio::awaitable<void> {
  for (;;) {
    if (done_) {
      co_return;
    }
    if (!held_.empty()) {
      promote(mono_clock::now(), false);
    }
    const std::uint64_t limit = close_ ? std::min(close_->at, queued_) : queued_;
    if (out_start_ < limit) {
      std::size_t take = static_cast<std::size_t>(limit - out_start_);
      const std::size_t chunk = ep_->chunk_bytes;
      if (chunk > 0) {
        take = std::min(take, chunk);
      }
      // Double buffering: the reader keeps appending to out_ while inflight_ is on the wire.
      if (take == out_.size()) {
        inflight_.swap(out_);
        out_.clear();
      } else {
        inflight_.assign(out_, 0, take);
        out_.erase(0, take);
      }
      out_start_ += take;
      // Try the socket at once (it is non-blocking): a reply usually fits the send buffer, and
      // this saves a trip through the scheduler per write. Only the rest goes asynchronous.
      boost::system::error_code ec;
      std::size_t n = socket_.write_some(asio::buffer(inflight_), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) {
        ec = {};
        n = 0;
      }
      if (!ec && n < inflight_.size()) {
        auto [rest_ec, rest] = co_await asio::async_write(
            socket_, asio::buffer(inflight_.data() + n, inflight_.size() - n), use_tuple);
        ec = rest_ec;
        n += rest;
      }
      inflight_.clear();
      if (done_) {
        co_return;
      }
      if (ec) {
        finish(close_initiator::client, close_how_of(ec), "write failed: " + ec.message(), true);
        co_return;
      }
      written_ += n;
      record_written();
      if (chunk > 0 && ep_->chunk_pause.count() > 0 && written_ < limit) {
        pause_.expires_after(ep_->chunk_pause);
        co_await pause_.async_wait(use_tuple);
      }
      continue;
    }
    if (close_ && written_ >= close_->at) {
      co_await close_after_output();
      co_return;
    }
    if (!held_.empty() && !ep_->stalled && !close_) {
      wake_.expires_at(held_.front().due);
    } else {
      wake_.expires_at(time_point::max());
    }
    co_await wake_.async_wait(use_tuple);
  }
}

auto session::close_after_output() -> asio::awaitable<void> {
  const close_request req = *close_;
  core_->record(ep_->config.name, state_.id,
                timeline::connection_closed{req.by, req.how, req.reason});
  close_recorded_ = true;
  input_closed_ = true;
  boost::system::error_code ec;
  if (req.how == close_how::rst) {
    // A reset discards whatever the kernel has not sent yet, so wait (briefly) until the bytes
    // this close is meant to follow have left; loopback usually empties at once.
    for (int i = 0; i < 200 && !done_; ++i) {
      int unsent = 0;
      if (::ioctl(socket_.native_handle(), SIOCOUTQ, &unsent) != 0 || unsent == 0) {
        break;
      }
      pause_.expires_after(std::chrono::milliseconds(1));
      co_await pause_.async_wait(use_tuple);
    }
    finish(req.by, req.how, req.reason, false);
    co_return;
  }
  // FIN: shut down our side, then keep reading until the client's FIN so bytes it sends in the
  // meantime do not make the kernel answer with a reset.
  socket_.shutdown(tcp::socket::shutdown_send, ec);
  draining_ = true;
  if (!peer_eof_ && !done_) {
    pause_.expires_after(core_->config.fin_linger);
    co_await pause_.async_wait(use_tuple);
  }
  finish(req.by, req.how, req.reason, false);
}

void session::finish(close_initiator by, close_how how, const std::string& reason, bool record) {
  if (done_) {
    return;
  }
  done_ = true;
  if (record && !close_recorded_) {
    close_recorded_ = true;
    core_->record(ep_->config.name, state_.id, timeline::connection_closed{by, how, reason});
  }
  boost::system::error_code ec;
  if (how == close_how::rst && by == close_initiator::server) {
    socket_.set_option(asio::socket_base::linger(true, 0), ec);
  }
  socket_.close(ec);
  wake_.cancel();
  pause_.cancel();
}

// ---------------------------------------------------------------------------------------------
// Control

void session::wake() { wake_.cancel(); }

auto session::push(const std::string& bytes, const push_meta& meta) -> bool {
  if (!open_for_output()) {
    return false;
  }
  frame_mark mark;
  mark.kind = frame_kind::push;
  mark.meta = std::make_unique<push_meta>(meta);
  enqueue(bytes, std::move(mark), std::nullopt, mono_clock::now(),
          meta.order == push_order::in_reply_order);
  check_output_limit();
  wake();
  return !done_;
}

auto session::raw(const std::string& bytes, const std::string& step) -> bool {
  if (!open_for_output()) {
    return false;
  }
  frame_mark mark;
  mark.kind = frame_kind::raw;
  mark.meta = std::make_unique<push_meta>();
  mark.meta->step = step;
  enqueue(bytes, std::move(mark), std::nullopt, mono_clock::now(), false);
  check_output_limit();
  wake();
  return !done_;
}

auto session::close(close_mode mode, close_point point, const std::string& reason) -> bool {
  if (done_ || close_) {
    return false;
  }
  const close_how how = mode == close_mode::rst ? close_how::rst : close_how::fin;
  input_closed_ = true;
  std::string why = reason;
  // Everything ready (pushes and replies queued before this call) still goes out; replies held
  // by latency or a stall are dropped, as a dying server never sends them.
  std::uint64_t at = queued_;
  if (point == close_point::mid_frame) {
    // Cut the last ready frame; if it is already entirely on the wire, cut a held one instead.
    if (marks_.empty() || marks_.back().end <= out_start_) {
      promote(mono_clock::now(), true);
    }
    if (!marks_.empty() && marks_.back().end > out_start_) {
      const frame_mark& last = marks_.back();
      at = last.start >= out_start_
               ? last.start + std::max<std::uint64_t>(1, (last.end - last.start) / 2)
               : out_start_;  // already partly written (fragmentation): stop where it is
    } else {
      why += " (no frame to cut)";
    }
  }
  held_.clear();
  held_bytes_ = 0;
  close_ = close_request{close_initiator::server, how, std::move(why), at};
  wake();
  return true;
}

void session::stop() { finish(close_initiator::server, close_how::fin, "server stop", true); }

}  // namespace schsim::simulator::detail
