#pragma once

/// @file
/// A string that holds a secret (a secret's value, a full API key, a device
/// flow's attempt token) and keeps it out of logs and messages.

#include <ostream>
#include <string>

#include "runtools/export.h"

namespace RUNTOOLS_NAMESPACE_EXPORT runtools {

/// Holds a secret value. It prints as `[REDACTED]`; reveal() is the only way
/// to the value, so that handing it to a log or a stream takes a deliberate
/// step. The memory is overwritten when the object is destroyed.
class SecretString {
 public:
  SecretString() = default;
  explicit SecretString(std::string value) : value_(std::move(value)) {}
  SecretString(const SecretString&) = default;
  SecretString(SecretString&&) noexcept = default;
  SecretString& operator=(const SecretString& other) {
    if (this != &other) {
      wipe();
      value_ = other.value_;
    }
    return *this;
  }
  SecretString& operator=(SecretString&& other) noexcept {
    if (this != &other) {
      wipe();
      value_ = std::move(other.value_);
    }
    return *this;
  }
  ~SecretString() { wipe(); }

  /// The secret itself.
  const std::string& reveal() const noexcept { return value_; }
  bool empty() const noexcept { return value_.empty(); }

  friend std::ostream& operator<<(std::ostream& out, const SecretString&) {
    return out << "[REDACTED]";
  }
  friend bool operator==(const SecretString& a, const SecretString& b) {
    return a.value_ == b.value_;
  }
  friend bool operator!=(const SecretString& a, const SecretString& b) { return !(a == b); }

 private:
  void wipe() noexcept {
    volatile char* p = value_.data();
    for (std::size_t i = 0; i < value_.size(); ++i)
      p[i] = '\0';
    value_.clear();
  }

  std::string value_;
};

}  // namespace runtools
