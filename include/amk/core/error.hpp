#pragma once
// amk::Error: every user-facing failure is one of these, with a one-line message naming
// the problem (the program prints "amk: error: <what>" and exits non-zero).
#include <new>
#include <stdexcept>
#include <string>

namespace amk
{
/// s with its control characters written as \n, \t or \xNN: a message stays on one line
/// whatever it quotes (the strings of a damaged file may hold newlines).
inline std::string printable(const std::string &s)
{
  static const char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size());
  for (const char ch : s)
  {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\n')
      out += "\\n";
    else if (c == '\t')
      out += "\\t";
    else if (c < 0x20 || c == 0x7f)
      out += std::string("\\x") + hex[c >> 4] + hex[c & 15];
    else
      out += ch;
  }
  return out;
}

class Error : public std::runtime_error
{
public:
  explicit Error(const std::string &what) : std::runtime_error(printable(what)) {}
};

/// An error that every MPI rank throws together (bad input, divergence), so that all can
/// exit cleanly: nobody is left waiting in a collective, and no MPI_Abort is needed. One
/// rank reports it: the rank where it happened (rank 0 when it happened on all alike).
class CollectiveError : public Error
{
public:
  explicit CollectiveError(const std::string &what, int reporting_rank = 0) : Error(what), m_reporter(reporting_rank) {}
  int reporting_rank() const { return m_reporter; }

private:
  int m_reporter;
};

/// An allocation that failed, with its size in the message: callers that know the remedy
/// (more MPI ranks for a shard) catch it and say so.
class OutOfMemory : public Error
{
public:
  using Error::Error;
};

/// Whether e reports a failed allocation: std::bad_alloc, amk::OutOfMemory, or Kokkos'
/// runtime_error ("Kokkos failed to allocate memory for label …", 3.4 and 4.x).
inline bool is_allocation_failure(const std::exception &e)
{
  return dynamic_cast<const std::bad_alloc *>(&e) != nullptr || dynamic_cast<const OutOfMemory *>(&e) != nullptr ||
         std::string(e.what()).find("failed to allocate") != std::string::npos;
}

/// Throws amk::Error(message) unless cond holds.
inline void require(bool cond, const std::string &message)
{
  if (!cond)
    throw Error(message);
}

/// The same for a literal: no std::string is built unless it throws (a require in a loop
/// over a cost matrix spent a fifth of the coupling in malloc).
inline void require(bool cond, const char *message)
{
  if (!cond)
    throw Error(message);
}
} // namespace amk
