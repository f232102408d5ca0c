//! Folding: the one text transform every part of the matcher (and the dictionaries it loads)
//! applies before comparing words.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Lowercases, removes accents and unifies apostrophes: "Où est ma COMMANDE’s" -> "ou est ma commande's".
pub fn fold(text: &str) -> String {
    text.nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            '\u{2018}' | '\u{2019}' | '\u{02bc}' | '`' | '\u{00b4}' => '\'',
            c => c,
        })
        .collect()
}
