// Fuzzing the CAMP object header decoder: whatever it accepts must re-encode to something that
// decodes to the same header, of exactly the size encoded_size() promised.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "dataplane/camp/object_header.h"

using namespace camp::campfmt;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ObjectHeader h;
  size_t header_size = 0;
  if (decode(data, size, &h, &header_size) != Error::ok) return 0;
  if (header_size > size) std::abort();

  const size_t need = encoded_size(h);
  if (need == 0) std::abort();  // an accepted header is always representable
  std::vector<uint8_t> buf(need);
  size_t written = 0;
  if (encode(h, buf.data(), need - 1, &written) != Error::buffer_too_small) std::abort();
  if (encode(h, buf.data(), buf.size(), &written) != Error::ok || written != need) std::abort();
  // The re-encoding is minimal, so never longer than what was read.
  if (written > header_size) std::abort();

  ObjectHeader again;
  size_t again_size = 0;
  if (decode(buf.data(), buf.size(), &again, &again_size) != Error::ok) std::abort();
  if (again_size != written || !(again == h)) std::abort();

  const uint8_t* payload = nullptr;
  size_t object_size = 0;
  const Error e = decode_object(data, size, &h, &payload, &object_size);
  if (e == Error::ok && (object_size > size || payload != data + header_size)) std::abort();
  if (e != Error::ok && e != Error::truncated) std::abort();
  return 0;
}
