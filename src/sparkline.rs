//! ASCII sparklines: Redis's sparkline.c, used by LATENCY GRAPH (latency.rs). A sequence of
//! labelled samples is drawn `rows` characters high, 3 levels per row (`_`, `-`, `` ` `` or,
//! filled, `_`, `o`, `#` with `|` below the top), then each label written vertically below
//! its column. Pure string building, called from a command on the event-loop thread.

/// Redis: SPARKLINE_FILL and SPARKLINE_LOG_SCALE.
pub const SPARKLINE_FILL: u32 = 1;
pub const SPARKLINE_LOG_SCALE: u32 = 2;

const CHARSET: &[u8] = b"_-`";
const CHARSET_FILL: &[u8] = b"_o#";
/// Redis: label_margin_top, blank rows between the graph and the labels.
const LABEL_MARGIN_TOP: usize = 1;

/// Redis: struct sample.
#[derive(Debug, Clone)]
struct Sample {
    value: f64,
    label: Option<Vec<u8>>,
}

/// Redis: struct sequence.
#[derive(Debug, Clone, Default)]
pub struct Sequence {
    samples: Vec<Sample>,
    labels: usize,
    min: f64,
    max: f64,
}

impl Sequence {
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Redis: sparklineSequenceAddSample(). An empty label counts as none.
    pub fn add_sample(&mut self, value: f64, label: &str) {
        if self.samples.is_empty() {
            self.min = value;
            self.max = value;
        } else if value < self.min {
            self.min = value;
        } else if value > self.max {
            self.max = value;
        }
        let label = (!label.is_empty()).then(|| label.as_bytes().to_vec());
        self.labels += usize::from(label.is_some());
        self.samples.push(Sample { value, label });
    }
}

/// Redis: sparklineRender(): the sequence in chunks of `columns` samples, chunks separated
/// by an empty line.
pub fn sparkline_render(output: &mut Vec<u8>, seq: &Sequence, columns: usize, rows: usize, flags: u32) {
    let columns = columns.max(1);
    for (n, chunk) in seq.samples.chunks(columns).enumerate() {
        if n != 0 {
            output.push(b'\n');
        }
        sparkline_render_range(output, seq, chunk, rows, flags);
    }
}

/// Redis: sparklineRenderRange(): the graph rows, a margin, then the label rows, until a row
/// would be empty.
fn sparkline_render_range(output: &mut Vec<u8>, seq: &Sequence, chunk: &[Sample], rows: usize, flags: u32) {
    let steps = CHARSET.len() * rows;
    let mut row = 0;
    loop {
        let line = if row < rows {
            Some(graph_row(seq, chunk, rows, row, steps, flags))
        } else {
            label_row(seq, chunk, row - rows)
        };
        let Some(line) = line else { break };
        output.extend_from_slice(&line);
        output.push(b'\n');
        row += 1;
    }
}

/// One row of the graph itself: the character each column needs at this height.
fn graph_row(seq: &Sequence, chunk: &[Sample], rows: usize, row: usize, steps: usize, flags: u32) -> Vec<u8> {
    let fill = flags & SPARKLINE_FILL != 0;
    chunk
        .iter()
        .map(|s| {
            let step = sample_step(seq, s.value, steps, flags) as i64;
            let charidx = step - ((rows - row - 1) * CHARSET.len()) as i64;
            match usize::try_from(charidx) {
                Ok(i) if i < CHARSET.len() => if fill { CHARSET_FILL[i] } else { CHARSET[i] },
                Ok(_) if fill => b'|',
                _ => b' ',
            }
        })
        .collect()
}

/// Redis: the step of a value, 0 ..= steps-1, on a linear (or log) scale from min to max.
fn sample_step(seq: &Sequence, value: f64, steps: usize, flags: u32) -> usize {
    let log_scale = flags & SPARKLINE_LOG_SCALE != 0;
    let mut relmax = seq.max - seq.min;
    let mut relval = value - seq.min;
    if log_scale {
        relmax = (relmax + 1.0).ln();
        relval = (relval + 1.0).ln();
    } else if relmax == 0.0 {
        relmax = 1.0;
    }
    // Redis truncates relval*steps to an int before dividing by relmax.
    let scaled = ((relval * steps as f64) as i64) as f64 / relmax;
    (scaled as i64).clamp(0, steps.saturating_sub(1) as i64) as usize
}

/// A row below the graph (`below` counts from the graph's bottom): the blank margin while
/// labels exist, then the labels written top to bottom. None when nothing is left to write.
fn label_row(seq: &Sequence, chunk: &[Sample], below: usize) -> Option<Vec<u8>> {
    if seq.labels > 0 && below < LABEL_MARGIN_TOP {
        return Some(vec![b' '; chunk.len()]);
    }
    let label_char = below.checked_sub(LABEL_MARGIN_TOP)?;
    let mut any = false;
    let line = chunk
        .iter()
        .map(|s| match s.label.as_deref().and_then(|l| l.get(label_char)) {
            Some(&ch) => {
                any = true;
                ch
            }
            None => b' ',
        })
        .collect();
    any.then_some(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(samples: &[(f64, &str)], columns: usize, rows: usize, flags: u32) -> String {
        let mut seq = Sequence::default();
        for (v, label) in samples {
            seq.add_sample(*v, label);
        }
        let mut out = Vec::new();
        sparkline_render(&mut out, &seq, columns, rows, flags);
        String::from_utf8(out).expect("ascii")
    }

    #[test]
    fn filled_graph_with_labels() {
        // Values 0..=11 over 4 rows of 3 levels: one step per value.
        let samples: Vec<(f64, String)> = (0..12).map(|v| (v as f64, format!("{v}s"))).collect();
        let refs: Vec<(f64, &str)> = samples.iter().map(|(v, l)| (*v, l.as_str())).collect();
        let out = render(&refs, 80, 4, SPARKLINE_FILL);
        let expected = [
            "         _o#",
            "      _o#|||",
            "   _o#||||||",
            "_o#|||||||||",
            "            ",
            "012345678911",
            "ssssssssss01",
            "          ss",
        ];
        assert_eq!(out, expected.join("\n") + "\n");
    }

    #[test]
    fn flat_sequence_and_plain_charset() {
        // All equal: relmax is taken as 1 so every value sits on the lowest step.
        let out = render(&[(5.0, ""), (5.0, "")], 80, 2, 0);
        assert_eq!(out, "  \n__\n");
        let out = render(&[(0.0, ""), (1.0, ""), (2.0, "")], 80, 1, 0);
        assert_eq!(out, "_-`\n");
    }

    #[test]
    fn chunks_of_columns_are_separated_by_a_blank_line() {
        let out = render(&[(1.0, "a"), (2.0, "b"), (3.0, "c")], 2, 1, SPARKLINE_FILL);
        assert_eq!(out, "_o\n  \nab\n\n#\n \nc\n");
    }

    #[test]
    fn log_scale_compresses_large_values() {
        let out = render(&[(0.0, ""), (10.0, ""), (1000.0, "")], 80, 1, SPARKLINE_LOG_SCALE);
        assert_eq!(out, "_-`\n");
    }
}
