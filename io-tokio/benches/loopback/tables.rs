//! The figures of the Markdown tables: medians over rounds, ratios paired
//! within a round, and the per-round lines.

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// One figure of every round of every pair: `[pair][round]`.
pub type Rounds = Vec<Vec<f64>>;

/// The median over rounds of pair `i`'s figure divided by pair `base`'s
/// figure of the same round.
pub fn paired(values: &Rounds, i: usize, base: usize) -> f64 {
    median(
        values[i]
            .iter()
            .zip(&values[base])
            .map(|(v, b)| v / b)
            .collect(),
    )
}

/// Per-round ratios of every pair to pair `base`, pairs separated by `|`.
pub fn fmt_paired(values: &Rounds, base: usize) -> String {
    (0..values.len())
        .map(|i| {
            values[i]
                .iter()
                .zip(&values[base])
                .map(|(v, b)| format!("{:.2}", v / b))
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

pub fn load_range(loads: &[f64]) -> String {
    let lo = loads.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = loads.iter().copied().fold(0.0, f64::max);
    format!("{lo:.1}–{hi:.1}")
}

pub fn fmt_rounds(rounds: &[Vec<Vec<f64>>], k: usize, div: f64) -> String {
    rounds
        .iter()
        .take(1)
        .map(|pair| {
            pair.iter()
                .map(|r| format!("{:.0}", r[k] / div))
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect::<Vec<_>>()
        .join(" | ")
}
