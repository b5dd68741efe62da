//! The i;unicode-casemap collation (RFC 5051): what SORT=DISPLAY keys
//! compare under, so "Émile" sorts beside "Emile" and not after "Zed".

use icu_casemap::CaseMapper;
use icu_normalizer::DecomposingNormalizerBorrowed;

/// `s` as i;unicode-casemap compares it (RFC 5051 §2): each character
/// mapped to its simple titlecase, then the whole in Unicode NFKD.
/// Comparing two keys octet by octet compares the strings.
pub fn unicode_casemap(s: &str) -> String {
    let mapper = CaseMapper::new();
    let titled: String = s.chars().map(|c| mapper.simple_titlecase(c)).collect();
    DecomposingNormalizerBorrowed::new_nfkd().normalize(&titled).into_owned()
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
}
