-- How a check-in identified the trainee (face, fingerprint, QR code, manual), as the device said
-- it; the ledger shows it with each mark beside the device, the uploader and the times. Rows
-- stored before, and rows a correction made, say UNSPECIFIED.
ALTER TABLE attendance ADD COLUMN method TEXT NOT NULL DEFAULT 'UNSPECIFIED';
