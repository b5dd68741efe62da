//! Unicode comparisons: the i;unicode-casemap collation (RFC 5051), what
//! SORT=DISPLAY keys compare under, so "Émile" sorts beside "Emile" and
//! not after "Zed"; and SEARCH's caseless matching, so "STRASSE" finds
//! "Straße" and "ΣΟΦΊΑ" finds "σοφία".

use icu_casemap::CaseMapper;
use icu_normalizer::DecomposingNormalizerBorrowed;

/// `s` as SEARCH compares it: Unicode's compatibility caseless form
/// (The Unicode Standard §3.13, D146: NFKD(fold(NFKD(fold(NFD(s)))))),
/// with full case folding. It matches whatever i;unicode-casemap
/// (RFC 5051) calls equal, and also the folds that change length
/// (ß and SS), which RFC 5051's simple titlecase misses but readers
/// expect. ASCII takes a short way.
pub fn search_fold(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    let mapper = CaseMapper::new();
    let nfkd = DecomposingNormalizerBorrowed::new_nfkd();
    let nfd = DecomposingNormalizerBorrowed::new_nfd().normalize(s);
    let folded = mapper.fold_string(&nfd).into_owned();
    let decomposed = nfkd.normalize(&folded);
    let folded = mapper.fold_string(&decomposed).into_owned();
    nfkd.normalize(&folded).into_owned()
}

/// `s` as i;unicode-casemap compares it (RFC 5051 §2): each character
/// mapped to its simple titlecase, then the whole in Unicode NFKD.
/// Comparing two keys octet by octet compares the strings.
pub fn unicode_casemap(s: &str) -> String {
    let mapper = CaseMapper::new();
    let titled: String = s.chars().map(|c| mapper.simple_titlecase(c)).collect();
    DecomposingNormalizerBorrowed::new_nfkd()
        .normalize(&titled)
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_and_compatibility_forms_compare_equal() {
        assert_eq!(unicode_casemap("émile"), unicode_casemap("ÉMILE"));
        // Titlecase comes first, one character at a time: the ligature
        // decomposes to lower-case letters afterwards (RFC 5051 §2).
        assert_eq!(unicode_casemap("ﬁle"), "fiLE");
        assert_eq!(unicode_casemap("①"), "1");
        assert_eq!(unicode_casemap("ǆ"), unicode_casemap("ǅ"));
        assert!(unicode_casemap("Émile") < unicode_casemap("Zed"));
        assert!(unicode_casemap("Emile") < unicode_casemap("Émile"));
        assert_eq!(unicode_casemap(""), "");
    }

    #[test]
    fn search_folding_finds_what_readers_call_the_same_word() {
        assert_eq!(search_fold("STRASSE"), search_fold("Straße"));
        assert_eq!(search_fold("ΣΟΦΊΑ"), search_fold("σοφία"));
        assert_eq!(search_fold("ΌΣΟΣ"), search_fold("όσος"));
        assert_eq!(search_fold("ﬁle"), "file");
        assert_eq!(search_fold("Hello"), "hello");
        assert!(search_fold("Crème Brûlée").contains(&search_fold("CRÈME")));
        let once = search_fold("ℌ Ǆ ß ﬀ");
        assert_eq!(search_fold(&once), once, "stable when applied twice");
    }
}
