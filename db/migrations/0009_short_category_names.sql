-- Category names are buttons («{emoji} {name} ({count})»): each must fit a phone's button
-- (32 visible characters, tests/unit/test_button_labels.py), so the long ones are shortened.
-- Search rows written before this keep the old words too; new imports index these names.

UPDATE dir_category SET name_kk = 'Жұмысқа орналасу', name_ru = 'Трудоустройство', name_en = 'Employment' WHERE code = 'employment';
UPDATE dir_category SET name_en = 'Documents, registration' WHERE code = 'documents';
UPDATE dir_category SET name_kk = 'Баспана, уақытша баспана' WHERE code = 'housing';
UPDATE dir_category SET name_kk = 'Психологиялық көмек', name_ru = 'Психологическая помощь', name_en = 'Psychological support' WHERE code = 'mental_health';
UPDATE dir_category SET name_kk = 'Жәрдемақы мен зейнетақы', name_ru = 'Пособия и пенсии', name_en = 'Benefits and pensions' WHERE code = 'social_benefits';
UPDATE dir_category SET name_kk = 'Тамақ пен киім', name_ru = 'Еда и одежда', name_en = 'Food and clothing' WHERE code = 'basic_needs';
