// QUIC packet protection cost: seal of a 1200-byte payload per suite through intel-ipsec-mb (what
// dataplane/quic/crypto uses), the same through GnuTLS's gnutls_aead_cipher_encrypt for
// comparison, and header protection masks. Last line: the JSON summary.
#include <benchmark/benchmark.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include <array>
#include <cstdio>
#include <string>
#include <vector>

#include "dataplane/quic/crypto/aead.h"
#include "dataplane/quic/crypto/header_protection.h"
#include "dataplane/quic/crypto/imb_manager.h"
#include "perf/bench_capture.h"

namespace {

using camp::quic::CryptoStatus;
using camp::quic::Suite;

constexpr size_t kPayload = 1200;
constexpr size_t kHeader = 30;  // a short header with an 8-byte DCID is 10-13; long headers more

struct SuiteInfo {
  const char* name;
  Suite suite;
  gnutls_cipher_algorithm_t gnutls;
};
constexpr SuiteInfo kSuites[] = {
    {"aes128gcm", Suite::aes_128_gcm_sha256, GNUTLS_CIPHER_AES_128_GCM},
    {"aes256gcm", Suite::aes_256_gcm_sha384, GNUTLS_CIPHER_AES_256_GCM},
    {"chacha20", Suite::chacha20_poly1305_sha256, GNUTLS_CIPHER_CHACHA20_POLY1305},
};

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 31 + seed);
  return v;
}

void set_rates(benchmark::State& state) {
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * kPayload);
}

// One packet's worth of state for the ipsec-mb benchmarks; false (and the benchmark skipped) when
// the library cannot be set up.
struct ImbPacket {
  camp::quic::ImbManager mgr;  // one per thread, as a worker would hold it
  camp::quic::PacketAead aead;
  std::vector<uint8_t> header = pattern(kHeader, 2);
  std::vector<uint8_t> payload = pattern(kPayload, 3);
  std::array<uint8_t, 16> tag{};

  bool init(benchmark::State& state, SuiteInfo s) {
    const auto key = pattern(camp::quic::key_len(s.suite), 1);
    const std::array<uint8_t, 12> iv{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    if (mgr.ok() && aead.init(mgr, s.suite, key, iv) == CryptoStatus::ok) return true;
    state.SkipWithError("ipsec-mb init failed");
    return false;
  }
};

void bench_imb_seal(benchmark::State& state, SuiteInfo s) {
  ImbPacket p;
  if (!p.init(state, s)) return;
  auto& [mgr, aead, header, payload, tag] = p;
  uint64_t pn = 0;
  for (auto _ : state) {
    // In place: each round encrypts the last round's ciphertext, as cheap as fresh plaintext.
    if (aead.seal(mgr, pn++, header, payload, tag) != CryptoStatus::ok) {
      state.SkipWithError("seal failed");
      break;
    }
    benchmark::DoNotOptimize(tag.data());
    benchmark::ClobberMemory();
  }
  set_rates(state);
}

// Seal then open the same packet each round (open alone fails its tag after the first round, and
// PauseTiming would cost more than the work): open is this minus seal.
void bench_imb_seal_open(benchmark::State& state, SuiteInfo s) {
  ImbPacket p;
  if (!p.init(state, s)) return;
  auto& [mgr, aead, header, payload, tag] = p;
  uint64_t pn = 0;
  for (auto _ : state) {
    (void)aead.seal(mgr, pn, header, payload, tag);
    if (aead.open(mgr, pn++, header, payload, tag) != CryptoStatus::ok) {
      state.SkipWithError("open failed");
      break;
    }
    benchmark::ClobberMemory();
  }
  set_rates(state);
}

void bench_gnutls_seal(benchmark::State& state, SuiteInfo s) {
  auto key = pattern(camp::quic::key_len(s.suite), 1);
  gnutls_datum_t k = {key.data(), static_cast<unsigned>(key.size())};
  gnutls_aead_cipher_hd_t h;
  if (gnutls_aead_cipher_init(&h, s.gnutls, &k) != 0) {
    state.SkipWithError("gnutls init failed");
    return;
  }
  const std::array<uint8_t, 12> iv{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  auto header = pattern(kHeader, 2);
  auto payload = pattern(kPayload, 3);
  std::vector<uint8_t> out(kPayload + 16);
  uint64_t pn = 0;
  for (auto _ : state) {
    const auto nonce = camp::quic::make_nonce(iv, pn++);
    size_t out_len = out.size();
    // Out of place: the call does not promise in-place operation.
    if (gnutls_aead_cipher_encrypt(h, nonce.data(), nonce.size(), header.data(), header.size(), 16,
                                   payload.data(), payload.size(), out.data(), &out_len) != 0) {
      state.SkipWithError("gnutls encrypt failed");
      break;
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  gnutls_aead_cipher_deinit(h);
  set_rates(state);
}

void bench_hp_mask(benchmark::State& state, SuiteInfo s) {
  camp::quic::ImbManager mgr;
  camp::quic::HeaderProtection hp;
  const auto key = pattern(camp::quic::key_len(s.suite), 4);
  if (!mgr.ok() || hp.init(mgr, s.suite, key) != CryptoStatus::ok) {
    state.SkipWithError("hp init failed");
    return;
  }
  std::array<uint8_t, 16> sample{};
  std::array<uint8_t, 5> mask;
  for (auto _ : state) {
    (void)hp.mask(mgr, sample, mask);
    sample[0] = mask[0];  // a dependency chain, so calls cannot overlap or be hoisted
    benchmark::DoNotOptimize(sample.data());
  }
  state.SetItemsProcessed(state.iterations());
}

double mops(double ns) { return ns > 0 ? 1e3 / ns : -1; }
double gbps(double ns) { return ns > 0 ? kPayload * 8.0 / ns : -1; }

}  // namespace

int main(int argc, char** argv) {
  for (const SuiteInfo& s : kSuites) {
    benchmark::RegisterBenchmark((std::string("seal_imb_") + s.name).c_str(), bench_imb_seal, s);
    benchmark::RegisterBenchmark((std::string("seal_open_imb_") + s.name).c_str(),
                                 bench_imb_seal_open, s);
    benchmark::RegisterBenchmark((std::string("seal_gnutls_") + s.name).c_str(), bench_gnutls_seal,
                                 s);
    benchmark::RegisterBenchmark((std::string("hp_mask_") + s.name).c_str(), bench_hp_mask, s);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  camp::perf::Capture capture;
  benchmark::RunSpecifiedBenchmarks(&capture);
  benchmark::Shutdown();

  camp::quic::ImbManager mgr;
  std::printf("# ipsec-mb %s, arch %s; 1200-byte payload, %zu-byte header as AAD\n",
              IMB_VERSION_STR, mgr.arch_name(), kHeader);
  std::printf("# %-10s %11s %9s %13s %11s %12s %11s\n", "suite", "imb Mops/s", "imb Gbps",
              "gnutls Mops/s", "gnutls Gbps", "imb open ns", "hp ns/mask");
  for (const SuiteInfo& s : kSuites) {
    const double imb = capture.ns(std::string("seal_imb_") + s.name);
    const double gt = capture.ns(std::string("seal_gnutls_") + s.name);
    const double open = capture.ns(std::string("seal_open_imb_") + s.name) - imb;
    std::printf("# %-10s %11.3f %9.2f %13.3f %11.2f %12.1f %11.1f\n", s.name, mops(imb),
                gbps(imb), mops(gt), gbps(gt), open, capture.ns(std::string("hp_mask_") + s.name));
  }
  std::printf("{\"bench\":\"aead\",\"aes128gcm_mops\":%.3f,\"aes256gcm_mops\":%.3f,"
              "\"chacha20_mops\":%.3f,\"gnutls_aes128gcm_mops\":%.3f}\n",
              mops(capture.ns("seal_imb_aes128gcm")), mops(capture.ns("seal_imb_aes256gcm")),
              mops(capture.ns("seal_imb_chacha20")), mops(capture.ns("seal_gnutls_aes128gcm")));
  return 0;
}
