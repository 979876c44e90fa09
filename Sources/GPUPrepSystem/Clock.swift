import Glibc

/// Time, for what gpuprep records (when an apply ended) and bounds (how long a capture runs).
public enum Clock {
    /// Seconds since the epoch.
    public static func epochSeconds() -> Int { Int(time(nil)) }

    /// Seconds on a clock that never goes back, for measuring spans.
    public static func monotonic() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }
}
