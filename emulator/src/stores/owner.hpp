#pragma once

// What the stores share about the resources they keep: the owner shown on
// every resource (the emulator has one user per key, no profiles), and the
// slug alphabet of agents and workspaces.

#include <cstddef>

namespace rtemu {

inline constexpr char kOwnerDisplayName[] = "Emulator User";
inline constexpr char kOwnerEmail[] = "user@emulator.runtools.local";

/// The longest agent or workspace slug.
inline constexpr std::size_t kMaxSlugLength = 63;

/// a-z or 0-9: the characters a slug may start and end with.
inline bool isLowerAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

}  // namespace rtemu
