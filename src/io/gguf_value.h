#pragma once
// A GGUF metadata value: every value type of GGUF v2/v3, arrays nested to any depth.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace schwarm {

enum class GgufValueType : uint32_t {
  UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
};

const char* gguf_value_type_name(GgufValueType t);

struct GgufValue;
struct GgufArray {
  GgufValueType elem_type = GgufValueType::UINT8;
  std::vector<GgufValue> items;
};

struct GgufValue {
  using Storage = std::variant<uint8_t, int8_t, uint16_t, int16_t, uint32_t, int32_t, float, bool,
                               std::string, GgufArray, uint64_t, int64_t, double>;
  GgufValueType type = GgufValueType::UINT8;
  Storage value;

  GgufValue() = default;
  static GgufValue u8(uint8_t v) { return {GgufValueType::UINT8, v}; }
  static GgufValue i8(int8_t v) { return {GgufValueType::INT8, v}; }
  static GgufValue u16(uint16_t v) { return {GgufValueType::UINT16, v}; }
  static GgufValue i16(int16_t v) { return {GgufValueType::INT16, v}; }
  static GgufValue u32(uint32_t v) { return {GgufValueType::UINT32, v}; }
  static GgufValue i32(int32_t v) { return {GgufValueType::INT32, v}; }
  static GgufValue f32(float v) { return {GgufValueType::FLOAT32, v}; }
  static GgufValue boolean(bool v) { return {GgufValueType::BOOL, v}; }
  static GgufValue str(std::string v) { return {GgufValueType::STRING, std::move(v)}; }
  static GgufValue array(GgufArray v) { return {GgufValueType::ARRAY, std::move(v)}; }
  static GgufValue u64(uint64_t v) { return {GgufValueType::UINT64, v}; }
  static GgufValue i64(int64_t v) { return {GgufValueType::INT64, v}; }
  static GgufValue f64(double v) { return {GgufValueType::FLOAT64, v}; }

  bool is_integer() const;  // any of the 8 integer types
  bool is_float() const;    // FLOAT32 or FLOAT64
  // Conversions: nullopt when the type does not fit (a string is no integer; a negative value is
  // no uint64; an integer converts to a double; BOOL is not an integer).
  std::optional<int64_t> as_int() const;
  std::optional<double> as_double() const;  // floats and integers
  std::optional<bool> as_bool() const;
  const std::string* as_string() const;
  const GgufArray* as_array() const;

 private:
  GgufValue(GgufValueType t, Storage v) : type(t), value(std::move(v)) {}
};

}  // namespace schwarm
