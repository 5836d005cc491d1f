"""Chat users as warroom users, and the one-tap acknowledgement links pages carry."""
