//! `Revoked`: terminal. There is no transition out of this state and no
//! timer left that could dial.

/// The credential was revoked. Terminal: no method leads anywhere.
#[derive(Debug)]
pub struct Revoked {
    _private: (),
}

impl Revoked {
    pub(crate) fn new() -> Self {
        Revoked { _private: () }
    }
}

/// Shut down by the application. Terminal.
#[derive(Debug)]
pub struct Closed {
    _private: (),
}

impl Closed {
    pub(crate) fn new() -> Self {
        Closed { _private: () }
    }
}
