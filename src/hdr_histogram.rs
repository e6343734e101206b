//! Per-command latency histograms for INFO latencystats: the part of HdrHistogram
//! (Redis's deps/hdr_histogram) that Redis uses, with Redis's fixed parameters.
//!
//! A log-linear histogram: values are grouped in buckets whose width doubles from one
//! bucket to the next, each split into 128 linear sub-buckets, so every recorded value is
//! kept to 2 significant decimal digits. With the same layout and the same percentile walk
//! as hdr_histogram, INFO prints the same numbers as Redis (e.g. 8 us -> "8.031").
//! `call()` records one value per executed command; nothing here touches the event loop.

/// Redis: LATENCY_HISTOGRAM_MIN_VALUE / MAX_VALUE (nanoseconds) and _PRECISION.
pub const LATENCY_HISTOGRAM_MIN_VALUE: u64 = 1;
pub const LATENCY_HISTOGRAM_MAX_VALUE: u64 = 1_000_000_000;

/// 2 significant digits need 2 * 10^2 distinct sub-buckets, rounded up to a power of two.
const SUB_BUCKET_COUNT_MAGNITUDE: u32 = 8;
const SUB_BUCKET_HALF_COUNT_MAGNITUDE: u32 = SUB_BUCKET_COUNT_MAGNITUDE - 1;
const SUB_BUCKET_COUNT: u64 = 1 << SUB_BUCKET_COUNT_MAGNITUDE;
const SUB_BUCKET_HALF_COUNT: u64 = SUB_BUCKET_COUNT / 2;
const SUB_BUCKET_MASK: u64 = SUB_BUCKET_COUNT - 1;
/// Buckets needed so that the largest bucket covers LATENCY_HISTOGRAM_MAX_VALUE.
const BUCKET_COUNT: usize = bucket_count_for(LATENCY_HISTOGRAM_MAX_VALUE);
const COUNTS_LEN: usize = (BUCKET_COUNT + 1) * SUB_BUCKET_HALF_COUNT as usize;

/// Redis: hdr_histogram.c buckets_needed_to_cover_value() with a unit magnitude of 0.
const fn bucket_count_for(max: u64) -> usize {
    let mut smallest_untrackable = SUB_BUCKET_COUNT;
    let mut buckets = 1;
    while smallest_untrackable <= max {
        smallest_untrackable <<= 1;
        buckets += 1;
    }
    buckets
}

/// Redis: struct hdr_histogram, fixed to 1 ns .. 1 s with 2 significant figures.
#[derive(Clone)]
pub struct HdrHistogram {
    counts: Box<[u64]>,
    total_count: u64,
}

impl std::fmt::Debug for HdrHistogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HdrHistogram").field("total_count", &self.total_count).finish()
    }
}

impl Default for HdrHistogram {
    fn default() -> Self {
        HdrHistogram { counts: vec![0; COUNTS_LEN].into_boxed_slice(), total_count: 0 }
    }
}

impl HdrHistogram {
    pub fn total_count(&self) -> u64 {
        self.total_count
    }

    /// Redis: hdr_record_value(). Values outside the trackable range are dropped (false).
    pub fn record_value(&mut self, value: u64) -> bool {
        let Some(slot) = counts_index_for(value).and_then(|i| self.counts.get_mut(i)) else {
            return false;
        };
        *slot += 1;
        self.total_count += 1;
        true
    }

    /// Redis: hdr_value_at_percentile(): the highest value equivalent to the one at which
    /// the running count first reaches `percentile` of all recorded values.
    pub fn value_at_percentile(&self, percentile: f64) -> u64 {
        let requested = percentile.min(100.0);
        let count_at_percentile = (((requested / 100.0) * self.total_count as f64) + 0.5) as u64;
        let wanted = count_at_percentile.max(1);
        let mut running = 0u64;
        for (index, &count) in self.counts.iter().enumerate() {
            running += count;
            if running >= wanted {
                let value = value_at_index(index);
                return if percentile == 0.0 { lowest_equivalent_value(value) } else { highest_equivalent_value(value) };
            }
        }
        0
    }
}

impl HdrHistogram {
    /// Redis: hdr_iter_log_init() + hdr_iter_next() as LATENCY HISTOGRAM walks them: one
    /// step per reporting level (`first_level`, then times `log_base`), each the highest
    /// value equivalent to where the walk stopped and the count of values up to there.
    /// Unlike the C iterator, the walk stops for good once it runs off the counts array.
    pub fn log_steps(&self, first_level: u64, log_base: u64) -> Vec<(u64, u64)> {
        let mut steps = Vec::new();
        let mut it = LogIter { next_index: 0, value: 0, highest: 0, cumulative: 0 };
        let mut level = first_level;
        let mut level_leq = lowest_equivalent_value(level);
        // Each turn is one hdr_iter_next(): walk until the reporting level, then report.
        while it.cumulative < self.total_count || value_at_index(it.next_index) > level_leq {
            while it.value < level_leq {
                if !self.move_next(&mut it) {
                    steps.push((it.highest, it.cumulative));
                    return steps;
                }
            }
            steps.push((it.highest, it.cumulative));
            level = level.saturating_mul(log_base.max(2));
            level_leq = lowest_equivalent_value(level);
        }
        steps
    }

    /// Redis: hdr_histogram.c move_next(): one counts slot further; false past the end.
    fn move_next(&self, it: &mut LogIter) -> bool {
        let Some(&count) = self.counts.get(it.next_index) else { return false };
        it.cumulative += count;
        it.value = value_at_index(it.next_index);
        it.highest = highest_equivalent_value(it.value);
        it.next_index += 1;
        true
    }
}

/// The state of a log walk over the counts (Redis: struct hdr_iter, the fields used).
struct LogIter {
    next_index: usize,
    value: u64,
    highest: u64,
    cumulative: u64,
}

/// Redis: server.c updateCommandLatencyHistogram(): clamps to the trackable range (ns).
pub fn record_latency_ns(histogram: &mut Option<Box<HdrHistogram>>, duration_ns: u64) {
    let value = duration_ns.clamp(LATENCY_HISTOGRAM_MIN_VALUE, LATENCY_HISTOGRAM_MAX_VALUE);
    histogram.get_or_insert_with(Box::default).record_value(value);
}

/// Redis: get_bucket_index(): which power-of-two bucket holds `value`.
fn bucket_index(value: u64) -> u32 {
    let pow2ceiling = 64 - (value | SUB_BUCKET_MASK).leading_zeros();
    pow2ceiling - (SUB_BUCKET_HALF_COUNT_MAGNITUDE + 1)
}

/// Redis: get_sub_bucket_index().
fn sub_bucket_index(value: u64, bucket: u32) -> u64 {
    value >> bucket
}

/// Redis: counts_index_for(); None past the last bucket.
fn counts_index_for(value: u64) -> Option<usize> {
    let bucket = bucket_index(value);
    let sub_bucket = sub_bucket_index(value, bucket);
    let base = (u64::from(bucket) + 1) << SUB_BUCKET_HALF_COUNT_MAGNITUDE;
    let index = usize::try_from(base + sub_bucket - SUB_BUCKET_HALF_COUNT).ok()?;
    (index < COUNTS_LEN).then_some(index)
}

/// Redis: hdr_value_at_index(): the lowest value that lands in counts[index].
fn value_at_index(index: usize) -> u64 {
    let index = index as u64;
    let bucket = (index >> SUB_BUCKET_HALF_COUNT_MAGNITUDE) as i64 - 1;
    let mut sub_bucket = (index & (SUB_BUCKET_HALF_COUNT - 1)) + SUB_BUCKET_HALF_COUNT;
    let bucket = if bucket < 0 {
        sub_bucket -= SUB_BUCKET_HALF_COUNT;
        0
    } else {
        bucket as u32
    };
    sub_bucket << bucket
}

/// Redis: lowest_equivalent_value().
fn lowest_equivalent_value(value: u64) -> u64 {
    let bucket = bucket_index(value);
    sub_bucket_index(value, bucket) << bucket
}

/// Redis: size_of_equivalent_value_range().
fn equivalent_range_size(value: u64) -> u64 {
    let bucket = bucket_index(value);
    let adjusted = if sub_bucket_index(value, bucket) >= SUB_BUCKET_COUNT { bucket + 1 } else { bucket };
    1 << adjusted
}

/// Redis: highest_equivalent_value().
fn highest_equivalent_value(value: u64) -> u64 {
    lowest_equivalent_value(value) + equivalent_range_size(value) - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn single(value_ns: u64) -> HdrHistogram {
        let mut h = HdrHistogram::default();
        assert!(h.record_value(value_ns));
        h
    }

    #[test]
    fn layout_matches_redis_parameters() {
        assert_eq!(BUCKET_COUNT, 23);
        assert_eq!(COUNTS_LEN, 3072);
        assert!(counts_index_for(LATENCY_HISTOGRAM_MAX_VALUE).is_some());
    }

    #[test]
    fn single_values_print_like_redis() {
        // Observed on redis-server 7.0.15: a 8 us call shows p50=8.031, 10 us 10.047,
        // 29 us 29.055, 7 us 7.007, 0 us (clamped to 1 ns) 0.001, 2015 us 2015.231.
        for (us, expected) in [(8u64, 8031u64), (10, 10047), (29, 29055), (7, 7007), (2015, 2015231), (88, 88063)] {
            assert_eq!(single(us * 1000).value_at_percentile(50.0), expected, "{us} us");
        }
        assert_eq!(single(1).value_at_percentile(99.9), 1);
    }

    #[test]
    fn percentiles_walk_the_counts() {
        let mut h = HdrHistogram::default();
        for _ in 0..99 {
            h.record_value(2000);
        }
        h.record_value(9000);
        assert_eq!(h.total_count(), 100);
        assert_eq!(h.value_at_percentile(50.0), 2007);
        assert_eq!(h.value_at_percentile(99.0), 2007);
        assert_eq!(h.value_at_percentile(99.9), 9023);
        assert_eq!(h.value_at_percentile(100.0), 9023);
        assert_eq!(h.value_at_percentile(0.0), 2000);
    }

    #[test]
    fn log_steps_report_each_power_of_two_level() {
        // One 8 us call: the levels 1024, 2048, 4096 ns see nothing, 8192 sees it (its
        // slot's highest equivalent value is 8255 ns, which LATENCY HISTOGRAM shows as 8).
        let steps = single(8000).log_steps(1024, 2);
        assert_eq!(steps, vec![(1031, 0), (2063, 0), (4127, 0), (8255, 1)]);
        // 33 us shows at the 32768 level (highest equivalent 33023 ns), as observed.
        let last = single(20_000).log_steps(1024, 2).last().copied();
        assert_eq!(last, Some((33023, 1)));
        let mut h = single(1500);
        h.record_value(1500);
        h.record_value(5000);
        assert_eq!(h.log_steps(1024, 2), vec![(1031, 0), (2063, 2), (4127, 2), (8255, 3)]);
        assert!(HdrHistogram::default().log_steps(1024, 2).is_empty());
        // The largest latency ends the walk at the end of the counts.
        let top = single(LATENCY_HISTOGRAM_MAX_VALUE).log_steps(1024, 2);
        assert_eq!(top.last().map(|s| s.1), Some(1));
    }

    #[test]
    fn clamps_out_of_range_latencies() {
        let mut slot = None;
        record_latency_ns(&mut slot, 0);
        record_latency_ns(&mut slot, u64::MAX);
        let h = slot.expect("allocated on first record");
        assert_eq!(h.total_count(), 2);
        assert_eq!(h.value_at_percentile(50.0), 1);
        assert!(h.value_at_percentile(100.0) >= LATENCY_HISTOGRAM_MAX_VALUE);
        assert!(!HdrHistogram::default().record_value(u64::MAX));
    }
}
