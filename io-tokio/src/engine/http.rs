//! The HTTP calls (provision, policy, enroll), runtime-neutral.
