// .npy reading and writing (float32 only).
#include "runtime/npy.h"

#include <cstring>
#include <fstream>
#include <iterator>

#include "schwarm/error.h"

namespace schwarm {

void write_npy_f32(const std::string& path, std::span<const float> data, const std::vector<int64_t>& shape) {
  int64_t n = 1;
  std::string dims;
  for (int64_t d : shape) {
    n *= d;
    dims += std::to_string(d) + ", ";
  }
  if (shape.size() == 1) dims.pop_back();  // "(5,)"
  else if (!dims.empty()) dims.resize(dims.size() - 2);
  if (n != static_cast<int64_t>(data.size()))
    throw FileError(path, "npy: " + std::to_string(data.size()) + " values for a shape of " + std::to_string(n));
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  // Magic (6) + version (2) + header length (2) + header + '\n', padded to a multiple of 64.
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::ofstream f(path, std::ios::binary);
  if (!f) throw FileError(path, "cannot open for writing");
  const uint16_t hlen = static_cast<uint16_t>(header.size());
  const char magic[] = {'\x93', 'N', 'U', 'M', 'P', 'Y', 1, 0};
  f.write(magic, 8);
  const char len[2] = {static_cast<char>(hlen & 0xff), static_cast<char>(hlen >> 8)};
  f.write(len, 2);
  f.write(header.data(), static_cast<std::streamsize>(header.size()));
  f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size() * sizeof(float)));
  if (!f) throw FileError(path, "write failed");
}

NpyArray read_npy_f32(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw FileError(path, "cannot open");
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) throw FileError(path, "not a .npy file");
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t hlen = 0, off = 0;
  if (major == 1) {
    hlen = static_cast<unsigned char>(bytes[8]) | (static_cast<size_t>(static_cast<unsigned char>(bytes[9])) << 8);
    off = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw FileError(path, "truncated .npy header");
    for (int i = 0; i < 4; ++i) hlen |= static_cast<size_t>(static_cast<unsigned char>(bytes[8 + static_cast<size_t>(i)])) << (8 * i);
    off = 12;
  } else {
    throw FileError(path, "unsupported .npy version " + std::to_string(major));
  }
  if (off + hlen > bytes.size()) throw FileError(path, "truncated .npy header");
  const std::string h = bytes.substr(off, hlen);
  if (h.find("'<f4'") == std::string::npos) throw FileError(path, "npy: only little-endian float32 ('<f4') is supported");
  if (h.find("'fortran_order': False") == std::string::npos) throw FileError(path, "npy: only C order is supported");
  const size_t a = h.find("'shape': (");
  const size_t b = a == std::string::npos ? a : h.find(')', a);
  if (b == std::string::npos) throw FileError(path, "npy: no shape in the header");
  NpyArray out;
  int64_t n = 1;
  for (size_t i = a + 10; i < b;) {
    while (i < b && (h[i] == ' ' || h[i] == ',')) ++i;
    if (i >= b) break;
    size_t used = 0;
    const long long d = std::stoll(h.substr(i, b - i), &used);
    if (d < 0 || used == 0) throw FileError(path, "npy: bad shape");
    out.shape.push_back(d);
    n *= d;
    i += used;
  }
  const size_t data_off = off + hlen;
  if (bytes.size() - data_off != static_cast<size_t>(n) * sizeof(float))
    throw FileError(path, "npy: " + std::to_string(bytes.size() - data_off) + " data bytes for " + std::to_string(n) + " floats");
  out.data.resize(static_cast<size_t>(n));
  std::memcpy(out.data.data(), bytes.data() + data_off, static_cast<size_t>(n) * sizeof(float));
  return out;
}

}  // namespace schwarm
