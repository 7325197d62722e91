//! What a caught panic said.

use std::any::Any;

// ANCHOR: panic_message
/// The message a panic was raised with: `panic!("...")` carries a `&str` or, with
/// arguments, a `String`; anything else can be passed too, but rarely is.
pub fn panic_message(panic: &(dyn Any + Send)) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        text.to_string()
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic with no message".to_string()
    }
}
// ANCHOR_END: panic_message

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_of_either_kind_of_panic() {
        let caught = |f: fn()| std::panic::catch_unwind(f).unwrap_err();
        assert_eq!(panic_message(caught(|| panic!("plain")).as_ref()), "plain");
        let number = 7;
        let with_args = std::panic::catch_unwind(move || panic!("image {number}")).unwrap_err();
        assert_eq!(panic_message(with_args.as_ref()), "image 7");
        let odd = std::panic::catch_unwind(|| std::panic::panic_any(42)).unwrap_err();
        assert_eq!(panic_message(odd.as_ref()), "a panic with no message");
    }
}
