//! "Did you mean …?": the closest known name to one a caller got wrong.

/// The candidate closest to `wrong`: one that differs by a namespace
/// (`add` → `calc_add`), or by a few edits for its length. `None` when
/// nothing is close.
pub(crate) fn closest<'a>(
    wrong: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    let budget = wrong.chars().count().div_ceil(3).clamp(1, 3);
    candidates
        .filter(|candidate| *candidate != wrong)
        .filter_map(|candidate| {
            let namespaced = candidate
                .rsplit_once(['_', '.'])
                .is_some_and(|(_, last)| last == wrong);
            let distance = if namespaced {
                0
            } else {
                edits(wrong, candidate)
            };
            // Among equals, one that contains the other reads as the likelier slip.
            let unrelated = !(candidate.contains(wrong) || wrong.contains(candidate));
            (distance <= budget).then_some((distance, unrelated, candidate))
        })
        .min()
        .map(|(_, _, candidate)| candidate)
}

/// Levenshtein distance, counted in characters.
fn edits(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            current.push(substitute.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_namespaced_and_misspelled_names() {
        let names = ["calc_add", "calc_subtract", "echo"];
        assert_eq!(closest("add", names.into_iter()), Some("calc_add"));
        assert_eq!(closest("ecoh", names.into_iter()), Some("echo"));
        assert_eq!(
            closest("calc_substract", names.into_iter()),
            Some("calc_subtract")
        );
        assert_eq!(closest("frobnicate", names.into_iter()), None);
        assert_eq!(closest("b", ["bb", "a"].into_iter()), Some("bb"));
    }

    #[test]
    fn counts_edits() {
        assert_eq!(edits("kitten", "sitting"), 3);
        assert_eq!(edits("", "ab"), 2);
        assert_eq!(edits("same", "same"), 0);
    }
}
