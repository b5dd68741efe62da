//! The authentication process's protocol
//! ([`courser_server::authd::wire`]): the root process parses what a
//! front end sends it, so no frame may panic it.

use courser_server::authd::wire::{
    decode_request, decode_response, encode_request, encode_response, split_frame,
};

/// Frames between the front end, the spawner and the authentication
/// process.
///
/// Checks: no panic; the framer claims no more than it has and exactly
/// the prefix plus the length it read; every frame that decodes (as a
/// request or as an answer) encodes to a frame that decodes to the same
/// message.
pub fn wire(data: &[u8]) {
    if let Ok(Some((frame, used))) = split_frame(data) {
        assert_eq!(used, frame.len() + 4);
        assert!(used <= data.len());
    }
    if let Ok((id, request)) = decode_request(data) {
        let frame = encode_request(id, &request);
        assert_eq!(decode_request(&frame[4..]), Ok((id, request)));
    }
    if let Ok((id, response)) = decode_response(data) {
        let frame = encode_response(id, &response);
        assert_eq!(decode_response(&frame[4..]), Ok((id, response)));
    }
}
