// bench_shim.cc: the only C++ file of ternbench.  A C API (bench_shim.h) over
// Google Benchmark: registers C callbacks as manual-time benchmarks with rate
// counters, runs them with Google Benchmark's own flags (so --benchmark_out JSON
// and compare.py work) and hands every reported run back to C.
#include "bench_shim.h"

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

void set_err(tb_err *e, const std::string &msg) {
    if (e) std::snprintf(e->msg, sizeof e->msg, "%s", msg.c_str());
}

void run_one(benchmark::State &state, tb_gb_spec s) {
    double prep = 0, timed = 0;
    char why[256];
    for (auto _ : state) {
        tb_gb_iter it = {0, 0};
        why[0] = 0;
        if (s.fn(s.ctx, &it, why, sizeof why) < 0) {
            state.SkipWithError(why[0] ? why : "benchmark callback failed");
            break;
        }
        const double sec = it.seconds > 0 ? it.seconds : 1e-12;
        state.SetIterationTime(sec);
        timed += sec;
        prep += it.prep_seconds;
    }
    using C = benchmark::Counter;
    state.SetBytesProcessed(static_cast<int64_t>(s.bytes_per_iter) * state.iterations());
    state.counters["ops_per_second"] = C(s.ops_per_iter, C::kIsIterationInvariantRate, C::kIs1000);
    // A plain fraction (no rate flag: the console would print it as "0.83/s").
    if (s.roofline_bps > 0 && timed > 0)
        state.counters["roofline_frac"] = C(s.bytes_per_iter * static_cast<double>(state.iterations()) / timed / s.roofline_bps);
    state.counters["bpw"] = C(s.bits_per_weight);
    state.counters["worker_threads"] = C(s.threads);
    state.counters["prep_s"] = C(prep, C::kAvgIterations);
}

// Passes runs to the C callback and, optionally, to the console reporter.
class Collector : public benchmark::BenchmarkReporter {
  public:
    Collector(bool console, benchmark::ConsoleReporter::OutputOptions opt, tb_gb_result_fn cb, void *user)
        : console_(console), cb_(cb), user_(user), con_(opt) {}
    bool ReportContext(const Context &ctx) override { return console_ ? con_.ReportContext(ctx) : true; }
    void ReportRuns(const std::vector<Run> &runs) override {
        if (console_) con_.ReportRuns(runs);
        for (const Run &r : runs) {
            std::string name = r.benchmark_name();
            std::string base = r.run_name.function_name;
            tb_gb_result o;
            std::memset(&o, 0, sizeof o);
            o.name = name.c_str();
            o.base_name = base.c_str();
            o.aggregate = r.aggregate_name.c_str();
            o.error = r.error_occurred;
            o.error_msg = r.error_message.c_str();
            o.iterations = static_cast<long long>(r.iterations);
            o.seconds_per_iter = r.error_occurred ? 0 : r.GetAdjustedRealTime() / benchmark::GetTimeUnitMultiplier(r.time_unit);
            auto get = [&r](const char *k) {
                auto it = r.counters.find(k);
                return it == r.counters.end() ? 0.0 : static_cast<double>(it->second.value);
            };
            o.bytes_per_second = get("bytes_per_second");
            o.ops_per_second = get("ops_per_second");
            o.roofline_frac = get("roofline_frac");
            o.bpw = get("bpw");
            o.prep_s = get("prep_s");
            o.threads = static_cast<int>(get("worker_threads"));
            if (cb_) cb_(user_, &o);
        }
    }
    void Finalize() override {
        if (console_) con_.Finalize();
    }

  private:
    bool console_;
    tb_gb_result_fn cb_;
    void *user_;
    benchmark::ConsoleReporter con_;
};

// Google Benchmark's JSON file reporter, with "threads" set to ternbench's worker threads:
// every benchmark runs on one Google Benchmark thread that drives ternbench's own pool, so
// the library's own count would say 1 for a 2-thread run.
class ThreadsJSON : public benchmark::JSONReporter {
  public:
    void ReportRuns(const std::vector<Run> &runs) override {
        std::vector<Run> fixed(runs);
        for (Run &r : fixed) {
            // stddev/cv aggregates carry the counter's dispersion (0), not the count: use
            // the count seen on the same benchmark's plain runs
            auto it = r.counters.find("worker_threads");
            const std::string key = r.run_name.function_name;
            if (r.aggregate_name.empty() && it != r.counters.end() && it->second.value >= 1)
                threads_[key] = static_cast<int64_t>(it->second.value);
            auto t = threads_.find(key);
            if (t != threads_.end()) r.threads = t->second;
        }
        benchmark::JSONReporter::ReportRuns(fixed);
    }

  private:
    std::map<std::string, int64_t> threads_;
};

// The value of "--benchmark_NAME=VALUE" in args (the last one wins), or def.
std::string flag(const std::vector<char *> &args, const char *name, const char *def) {
    std::string pre = std::string("--benchmark_") + name + "=", v = def;
    for (const char *a : args)
        if (a && std::strncmp(a, pre.c_str(), pre.size()) == 0) v = a + pre.size();
    return v;
}

bool truthy(const std::string &v) { return v == "true" || v == "yes" || v == "1" || v == "on"; }

// The console table's options as Google Benchmark itself derives them from its flags: colour
// only when --benchmark_color says so or, for "auto" (the default), when stdout is a colour
// terminal, so a redirected table never carries ANSI escapes.
benchmark::ConsoleReporter::OutputOptions console_options(const std::vector<char *> &args) {
    using O = benchmark::ConsoleReporter::OutputOptions;
    std::string c = flag(args, "color", "auto");
    const char *term = std::getenv("TERM");
    bool tty = isatty(fileno(stdout)) && term && std::strcmp(term, "dumb") != 0;
    bool color = c == "auto" ? tty : truthy(c);
    int o = O::OO_None;
    if (color) o |= O::OO_Color;
    if (truthy(flag(args, "counters_tabular", "false"))) o |= O::OO_Tabular;
    return static_cast<O>(o);
}

}  // namespace

extern "C" const char *tb_gb_version(void) {
#ifdef BENCHMARK_VERSION
    return BENCHMARK_VERSION;
#else
    return "1.x";
#endif
}

extern "C" int tb_gb_register(const tb_gb_spec *s, tb_err *e) {
    if (!s || !s->name || !s->fn) {
        set_err(e, "bench: benchmark spec needs a name and a callback");
        return -1;
    }
    try {
        tb_gb_spec copy = *s;
        copy.name = nullptr;  // the library keeps its own copy of the name
        auto *b = benchmark::RegisterBenchmark(s->name, [copy](benchmark::State &st) { run_one(st, copy); });
        b->UseManualTime()->Unit(benchmark::kMicrosecond);
        if (s->min_time > 0) b->MinTime(s->min_time);
        if (s->repetitions > 0) b->Repetitions(s->repetitions);
    } catch (const std::exception &ex) {
        set_err(e, std::string("bench: cannot register ") + s->name + ": " + ex.what());
        return -1;
    }
    return 0;
}

extern "C" int tb_gb_run(int argc, char **argv, bool console, tb_gb_result_fn cb, void *user, tb_err *e) {
    try {
        // Google Benchmark wants argv[0] first; it removes the flags it knows.
        std::vector<char *> args;
        std::string prog = "ternbench";
        args.push_back(&prog[0]);
        for (int i = 0; i < argc; i++) args.push_back(argv[i]);
        args.push_back(nullptr);
        const std::vector<char *> given(args);
        int n = static_cast<int>(args.size()) - 1;
        benchmark::Initialize(&n, args.data());
        if (n > 1) {
            set_err(e, std::string("bench: unknown benchmark flag '") + args[1] + "'");
            return -1;
        }
        Collector rep(console, console_options(given), cb, user);
        ThreadsJSON json;
        const bool json_out = !flag(given, "out", "").empty() && flag(given, "out_format", "json") == "json";
        size_t ran = json_out ? benchmark::RunSpecifiedBenchmarks(&rep, &json) : benchmark::RunSpecifiedBenchmarks(&rep);
        return static_cast<int>(ran);
    } catch (const std::exception &ex) {
        set_err(e, std::string("bench: Google Benchmark failed: ") + ex.what());
        return -1;
    }
}

extern "C" void tb_gb_clear(void) { benchmark::ClearRegisteredBenchmarks(); }
