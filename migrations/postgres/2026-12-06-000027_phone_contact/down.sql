DROP TABLE phone_contact;
