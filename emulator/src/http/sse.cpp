#include "http/sse.hpp"

namespace rtemu {
namespace {

constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD

}  // namespace

std::string sseFrame(const std::string& event, const Json& data) {
  return "event: " + event + "\ndata: " + dumpJson(data) + "\n\n";
}

std::string sseComment(const std::string& text) {
  return ": " + text + "\n\n";
}

std::string Utf8Stream::feed(const char* data, std::size_t size) {
  std::string in;
  in.swap(pending_);
  in.append(data, size);
  return decode(in, false);
}

std::string Utf8Stream::finish() {
  std::string in;
  in.swap(pending_);
  return decode(in, true);
}

std::string Utf8Stream::decode(const std::string& in, bool final) {
  std::string out;
  out.reserve(in.size());
  const std::size_t n = in.size();
  std::size_t i = 0;
  while (i < n) {
    const auto b = static_cast<unsigned char>(in[i]);
    if (b < 0x80) {
      out.push_back(in[i]);
      ++i;
      continue;
    }
    // Well-formed sequences (Unicode table 3-7): the range of the second byte depends on
    // the first; later bytes are 80..BF.
    std::size_t need = 0;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) {
      need = 1;
    } else if (b == 0xE0) {
      need = 2;
      lo = 0xA0;
    } else if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) {
      need = 2;
    } else if (b == 0xED) {
      need = 2;
      hi = 0x9F;
    } else if (b == 0xF0) {
      need = 3;
      lo = 0x90;
    } else if (b >= 0xF1 && b <= 0xF3) {
      need = 3;
    } else if (b == 0xF4) {
      need = 3;
      hi = 0x8F;
    } else {
      out += kReplacement;
      ++i;
      continue;
    }
    std::size_t j = 1;
    bool bad = false;
    bool incomplete = false;
    for (; j <= need; ++j) {
      if (i + j >= n) {
        incomplete = true;
        break;
      }
      const auto c = static_cast<unsigned char>(in[i + j]);
      const unsigned char l = j == 1 ? lo : 0x80;
      const unsigned char h = j == 1 ? hi : 0xBF;
      if (c < l || c > h) {
        bad = true;
        break;
      }
    }
    if (bad) {
      out += kReplacement;  // the valid prefix i..i+j-1 is one maximal subpart
      i += j;
      continue;
    }
    if (incomplete) {
      if (final) {
        out += kReplacement;
      } else {
        pending_ = in.substr(i);
      }
      break;
    }
    out.append(in, i, need + 1);
    i += need + 1;
  }
  return out;
}

}  // namespace rtemu
